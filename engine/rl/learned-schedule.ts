/**
 * A learned schedule as it is saved inside StepScheduler's `learned` widget: what to run
 * (timesteps, optional per-step guidance and eta) plus the policy parameters it came from and a
 * note of how it was trained, so a shared workflow carries the schedule and can be trained on.
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { ScheduleSpaceSchema } from './schedule-policy.ts';

export const LEARNED_SCHEDULE_FORMAT = 'fewstep-learned-schedule/1';

export const LearnedScheduleSchema = Type.Object({
  format: Type.Literal(LEARNED_SCHEDULE_FORMAT),
  timesteps: Type.Array(Type.Number(), { minItems: 1 }),
  guidance: Type.Optional(Type.Array(Type.Number({ minimum: 0 }))),
  eta: Type.Optional(Type.Array(Type.Number({ minimum: 0, maximum: 1 }))),
  /** The action space and the policy mean (the action) the schedule decodes from. */
  space: Type.Optional(ScheduleSpaceSchema),
  action: Type.Optional(Type.Array(Type.Number())),
  training: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type LearnedSchedule = Static<typeof LearnedScheduleSchema>;

/** Parses the widget's text; errors are messages for the node's `learned` input. */
export function parseLearnedSchedule(text: string, steps: number): { ok: true; value: LearnedSchedule } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `is not JSON (${(error as Error).message})` };
  }
  const [error] = [...Value.Errors(LearnedScheduleSchema, json)];
  if (error) return { ok: false, message: `${error.instancePath || '(root)'}: ${error.message}` };
  const value = json as LearnedSchedule;
  if (value.timesteps.length !== steps) return { ok: false, message: `holds ${value.timesteps.length} timesteps but steps is ${steps}` };
  for (const [name, list] of [
    ['guidance', value.guidance],
    ['eta', value.eta],
  ] as const) {
    if (list && list.length !== steps) return { ok: false, message: `holds ${list.length} ${name} values but steps is ${steps}` };
  }
  for (let i = 1; i < value.timesteps.length; i++) {
    if (!(value.timesteps[i] < value.timesteps[i - 1]))
      return { ok: false, message: `timesteps must be strictly descending (${value.timesteps[i]} follows ${value.timesteps[i - 1]})` };
  }
  return { ok: true, value };
}
