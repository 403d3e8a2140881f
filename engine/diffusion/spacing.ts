/**
 * Timestep spacings: pure functions (config, steps, schedule) -> timesteps, strictly
 * descending in [0, trainSteps), noisiest first. The sampler adds the final step to
 * CLEAN_TIMESTEP itself (diffusers' final_alpha_cumprod = 1).
 */
import Type, { type Static } from 'typebox';
import { DiffusionError } from './errors.ts';
import { karrasSigmaAt, logSnr, maxTimestep, timestepForLogSnr, type NoiseSchedule } from './schedule.ts';

export const SPACING_NAMES = ['trailing', 'leading', 'linspace', 'karras', 'logsnr', 'explicit'] as const;
export type SpacingName = (typeof SPACING_NAMES)[number];

export const TrailingSpacingSchema = Type.Object(
  { kind: Type.Literal('trailing') },
  { description: 'diffusers "trailing": starts at trainSteps - 1; best for few steps.' },
);
export const LeadingSpacingSchema = Type.Object(
  { kind: Type.Literal('leading'), stepsOffset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })) },
  { description: 'diffusers "leading": multiples of trainSteps // steps, plus stepsOffset.' },
);
export const LinspaceSpacingSchema = Type.Object(
  { kind: Type.Literal('linspace') },
  { description: 'diffusers "linspace": evenly from trainSteps - 1 down to 0, rounded.' },
);
export const KarrasSpacingSchema = Type.Object(
  {
    kind: Type.Literal('karras'),
    rho: Type.Optional(Type.Number({ exclusiveMinimum: 0, default: 7 })),
    sigmaMin: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'VE sigma of the last step; default the schedule at t = 0' })),
    sigmaMax: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'VE sigma of the first step; default the schedule at t = trainSteps - 1' })),
  },
  { description: 'Karras et al. (2022) rho-spacing in VE sigma = exp(-logSnr / 2), mapped back to t.' },
);
export const LogSnrSpacingSchema = Type.Object(
  {
    kind: Type.Literal('logsnr'),
    logSnrMin: Type.Optional(Type.Number({ description: 'log-SNR of the first step; default the schedule at t = trainSteps - 1' })),
    logSnrMax: Type.Optional(Type.Number({ description: 'log-SNR of the last step; default the schedule at t = 0' })),
  },
  { description: 'Uniform in log-SNR, mapped back to t.' },
);
export const ExplicitSpacingSchema = Type.Object(
  { kind: Type.Literal('explicit'), timesteps: Type.Array(Type.Number()) },
  { description: 'A given list of timesteps (e.g. learned); validated against steps and the schedule.' },
);

export const SpacingSchema = Type.Union([
  TrailingSpacingSchema,
  LeadingSpacingSchema,
  LinspaceSpacingSchema,
  KarrasSpacingSchema,
  LogSnrSpacingSchema,
  ExplicitSpacingSchema,
]);
export type Spacing = Static<typeof SpacingSchema>;

/** numpy's np.round (half to even), so rounded spacings match diffusers exactly. */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function checkSteps(steps: number, schedule: NoiseSchedule): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > schedule.trainSteps) {
    throw new DiffusionError('invalid_steps', `steps must be an integer in [1, ${schedule.trainSteps}], got ${steps}`, 'steps');
  }
}

/** Throws unless timesteps are finite, strictly descending and in [0, trainSteps). */
export function validateTimesteps(timesteps: readonly number[], schedule: NoiseSchedule, field = 'timesteps'): void {
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i];
    if (!Number.isFinite(t) || t < 0 || t >= schedule.trainSteps) {
      throw new DiffusionError('spacing_out_of_range', `${field}[${i}] = ${t} is outside [0, ${schedule.trainSteps})`, `${field}[${i}]`);
    }
    if (i > 0 && !(t < timesteps[i - 1])) {
      throw new DiffusionError(
        'spacing_not_descending',
        `${field} must be strictly descending: ${field}[${i}] = ${t} follows ${timesteps[i - 1]}`,
        `${field}[${i}]`,
      );
    }
  }
}

export function trailingTimesteps(_config: Static<typeof TrailingSpacingSchema>, steps: number, schedule: NoiseSchedule): number[] {
  checkSteps(steps, schedule);
  const ratio = schedule.trainSteps / steps;
  return Array.from({ length: steps }, (_, i) => roundHalfToEven(schedule.trainSteps - i * ratio) - 1);
}

export function leadingTimesteps(config: Static<typeof LeadingSpacingSchema>, steps: number, schedule: NoiseSchedule): number[] {
  checkSteps(steps, schedule);
  const ratio = Math.floor(schedule.trainSteps / steps);
  const offset = config.stepsOffset ?? 0;
  return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + offset);
}

export function linspaceTimesteps(_config: Static<typeof LinspaceSpacingSchema>, steps: number, schedule: NoiseSchedule): number[] {
  checkSteps(steps, schedule);
  const last = maxTimestep(schedule);
  if (steps === 1) return [0]; // np.linspace(0, last, 1) == [0], as diffusers does
  return Array.from({ length: steps }, (_, i) => roundHalfToEven((last * (steps - 1 - i)) / (steps - 1)));
}

export function karrasTimesteps(config: Static<typeof KarrasSpacingSchema>, steps: number, schedule: NoiseSchedule): number[] {
  checkSteps(steps, schedule);
  const rho = config.rho ?? 7;
  const sigmaMax = config.sigmaMax ?? karrasSigmaAt(schedule, maxTimestep(schedule));
  const sigmaMin = config.sigmaMin ?? karrasSigmaAt(schedule, 0);
  const rootMax = sigmaMax ** (1 / rho);
  const rootMin = sigmaMin ** (1 / rho);
  return Array.from({ length: steps }, (_, i) => {
    const ramp = steps === 1 ? 0 : i / (steps - 1);
    const sigma = (rootMax + ramp * (rootMin - rootMax)) ** rho;
    return Math.min(maxTimestep(schedule), timestepForLogSnr(schedule, -2 * Math.log(sigma)));
  });
}

export function logSnrTimesteps(config: Static<typeof LogSnrSpacingSchema>, steps: number, schedule: NoiseSchedule): number[] {
  checkSteps(steps, schedule);
  const lambdaFirst = config.logSnrMin ?? logSnr(schedule, maxTimestep(schedule));
  const lambdaLast = config.logSnrMax ?? logSnr(schedule, 0);
  return Array.from({ length: steps }, (_, i) => {
    const ramp = steps === 1 ? 0 : i / (steps - 1);
    return Math.min(maxTimestep(schedule), timestepForLogSnr(schedule, lambdaFirst + ramp * (lambdaLast - lambdaFirst)));
  });
}

export function explicitTimesteps(config: Static<typeof ExplicitSpacingSchema>, steps: number, schedule: NoiseSchedule): number[] {
  checkSteps(steps, schedule);
  if (config.timesteps.length !== steps) {
    throw new DiffusionError('spacing_length_mismatch', `explicit spacing lists ${config.timesteps.length} timesteps but steps is ${steps}`, 'timesteps');
  }
  return [...config.timesteps];
}

/** Dispatches on config.kind; every result is checked (descending, in range) before returning. */
export function computeTimesteps(config: Spacing, steps: number, schedule: NoiseSchedule): number[] {
  let timesteps: number[];
  switch (config.kind) {
    case 'trailing':
      timesteps = trailingTimesteps(config, steps, schedule);
      break;
    case 'leading':
      timesteps = leadingTimesteps(config, steps, schedule);
      break;
    case 'linspace':
      timesteps = linspaceTimesteps(config, steps, schedule);
      break;
    case 'karras':
      timesteps = karrasTimesteps(config, steps, schedule);
      break;
    case 'logsnr':
      timesteps = logSnrTimesteps(config, steps, schedule);
      break;
    case 'explicit':
      timesteps = explicitTimesteps(config, steps, schedule);
      break;
  }
  validateTimesteps(timesteps, schedule);
  return timesteps;
}
