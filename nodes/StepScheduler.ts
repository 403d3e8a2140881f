import Type from 'typebox';
import { defineNode } from '../engine/node.ts';
import { computeTimesteps, parseNoiseSchedule, SPACING_NAMES, validateTimesteps, type Spacing } from '../engine/diffusion/index.ts';
import { parseLearnedSchedule } from '../engine/rl/learned-schedule.ts';
import type { StepSchedule } from '../engine/sampling/values.ts';

/** Parses "999, 750.5, 400" into numbers; null when any entry is not a number. */
export function parseTimestepList(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const values = parts.map(Number);
  return values.every(Number.isFinite) ? values : null;
}

/** Where an untrained learned schedule starts (and what it runs until trained). */
const LEARNED_START_SPACING = 'trailing';

export default defineNode({
  type: 'StepScheduler',
  displayName: 'Step Scheduler',
  category: 'sampling',
  description:
    'The timesteps to sample at: hand-made spacings over the model\'s noise schedule (trailing suits few steps), an explicit list, or a schedule learned by `fewstep train` (spacing "learned": timesteps, and per-step guidance and eta when learned, saved in the workflow).',
  version: 2,
  inputs: { model: { type: 'MODEL' } },
  widgets: {
    steps: Type.Integer({ default: 4, minimum: 1, maximum: 1000 }),
    spacing: Type.Union(
      [...SPACING_NAMES, 'learned' as const].map((name) => Type.Literal(name)),
      { default: 'trailing' },
    ),
    rho: Type.Number({ default: 7, minimum: 0.1, maximum: 100, step: 0.1, description: 'Karras spacing only.' }),
    timesteps: Type.String({ default: '', description: 'Explicit spacing only: timesteps, noisiest first, comma separated.' }),
    learned: Type.String({
      default: '',
      multiline: true,
      description: 'Learned spacing only: the learned schedule as JSON, written by `fewstep train` (empty: not trained yet, runs trailing).',
    }),
  },
  outputs: { SCHEDULE: 'SCHEDULE' },
  check({ steps, spacing, timesteps, learned }) {
    if (spacing === 'explicit') {
      const list = parseTimestepList(timesteps);
      if (!list) return [{ input: 'timesteps', message: `"${timesteps}" is not a list of numbers` }];
      if (list.length !== steps) return [{ input: 'timesteps', message: `lists ${list.length} timesteps but steps is ${steps}` }];
    }
    if (spacing === 'learned' && learned.trim() !== '') {
      const parsed = parseLearnedSchedule(learned, steps);
      if (!parsed.ok) return [{ input: 'learned', message: `learned schedule ${parsed.message}` }];
    }
    return [];
  },
  // Spacing "learned": the trainer learns the schedule from what this node outputs (trailing
  // until trained) and saves it in `learned`.
  training({ steps, spacing, learned }) {
    if (spacing !== 'learned') return undefined;
    const parsed = learned.trim() === '' ? undefined : parseLearnedSchedule(learned, steps);
    return { kind: 'schedule', learned: parsed?.ok ? parsed.value : undefined, save: (schedule) => ({ learned: JSON.stringify(schedule) }) };
  },
  run(_ctx, { model, steps, spacing, rho, timesteps, learned }) {
    const schedule = parseNoiseSchedule(model.model.schedule);
    if (spacing === 'learned') {
      if (learned.trim() === '') {
        const start = computeTimesteps({ kind: LEARNED_START_SPACING }, steps, schedule);
        return {
          outputs: { SCHEDULE: { timesteps: start, spacing } },
          ui: { text: [`not trained yet: ${LEARNED_START_SPACING} ${start.map((t) => t.toFixed(0)).join(', ')}`] },
        };
      }
      const parsed = parseLearnedSchedule(learned, steps);
      if (!parsed.ok) throw new Error(`learned schedule ${parsed.message}`);
      validateTimesteps(parsed.value.timesteps, schedule, 'learned.timesteps');
      const value: StepSchedule = {
        timesteps: parsed.value.timesteps,
        spacing,
        ...(parsed.value.guidance ? { guidance: parsed.value.guidance } : {}),
        ...(parsed.value.eta ? { eta: parsed.value.eta } : {}),
      };
      const parts = [`learned: t ${value.timesteps.map((t) => t.toFixed(0)).join(', ')}`];
      if (value.guidance) parts.push(`cfg ${value.guidance.map((g) => g.toFixed(2)).join(', ')}`);
      if (value.eta) parts.push(`eta ${value.eta.map((e) => e.toFixed(2)).join(', ')}`);
      return { outputs: { SCHEDULE: value }, ui: { text: [parts.join('; ')] } };
    }
    const config: Spacing =
      spacing === 'explicit'
        ? { kind: 'explicit', timesteps: parseTimestepList(timesteps) ?? [] }
        : spacing === 'karras'
          ? { kind: 'karras', rho }
          : ({ kind: spacing } as Spacing);
    return { outputs: { SCHEDULE: { timesteps: computeTimesteps(config, steps, schedule), spacing } } };
  },
});
