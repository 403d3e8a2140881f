import Type from 'typebox';
import { defineNode } from '../engine/node.ts';
import { computeTimesteps, parseNoiseSchedule, SPACING_NAMES, type Spacing } from '../engine/diffusion/index.ts';

/** Parses "999, 750.5, 400" into numbers; null when any entry is not a number. */
export function parseTimestepList(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const values = parts.map(Number);
  return values.every(Number.isFinite) ? values : null;
}

export default defineNode({
  type: 'StepScheduler',
  displayName: 'Step Scheduler',
  category: 'sampling',
  description: 'The timesteps to sample at: hand-made spacings over the model\'s noise schedule (trailing suits few steps), or an explicit list.',
  inputs: { model: { type: 'MODEL' } },
  widgets: {
    steps: Type.Integer({ default: 4, minimum: 1, maximum: 1000 }),
    spacing: Type.Union(SPACING_NAMES.map((name) => Type.Literal(name)), { default: 'trailing' }),
    rho: Type.Number({ default: 7, minimum: 0.1, maximum: 100, step: 0.1, description: 'Karras spacing only.' }),
    timesteps: Type.String({ default: '', description: 'Explicit spacing only: timesteps, noisiest first, comma separated.' }),
  },
  outputs: { SCHEDULE: 'SCHEDULE' },
  check({ steps, spacing, timesteps }) {
    if (spacing !== 'explicit') return [];
    const list = parseTimestepList(timesteps);
    if (!list) return [{ input: 'timesteps', message: `"${timesteps}" is not a list of numbers` }];
    if (list.length !== steps) return [{ input: 'timesteps', message: `lists ${list.length} timesteps but steps is ${steps}` }];
    return [];
  },
  run(_ctx, { model, steps, spacing, rho, timesteps }) {
    const schedule = parseNoiseSchedule(model.model.schedule);
    const config: Spacing =
      spacing === 'explicit' ? { kind: 'explicit', timesteps: parseTimestepList(timesteps) ?? [] } : spacing === 'karras' ? { kind: 'karras', rho } : ({ kind: spacing } as Spacing);
    return { outputs: { SCHEDULE: { timesteps: computeTimesteps(config, steps, schedule), spacing } } };
  },
});
