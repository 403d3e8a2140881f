/**
 * Variance-preserving noise schedules: x_t = alpha(t) x0 + sigma(t) eps with
 * alpha^2 = alphaCumprod, sigma^2 = 1 - alphaCumprod. `t` is a float in model time;
 * CLEAN_TIMESTEP (-1) is the sampler's final target where alphaCumprod = 1.
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { sigmoid } from '../math.ts';
import { DiffusionError } from './errors.ts';

export const CosineScheduleSchema = Type.Object(
  {
    kind: Type.Literal('cosine'),
    trainSteps: Type.Integer({ minimum: 1, default: 1000 }),
    s: Type.Number({ minimum: 0, default: 0.008 }),
    minAlphaCumprod: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 1e-5 }),
    maxAlphaCumprod: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.99999 }),
  },
  { description: 'Continuous cosine schedule (Nichol & Dhariwal), clipped alphaCumprod.' },
);

export const LinearScheduleSchema = Type.Object(
  {
    kind: Type.Literal('linear'),
    trainSteps: Type.Integer({ minimum: 2, default: 1000 }),
    betaStart: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.0001 }),
    betaEnd: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.02 }),
  },
  { description: 'DDPM linear betas; discrete, interpolated in log-SNR for float t.' },
);

export const NoiseScheduleSchema = Type.Union([CosineScheduleSchema, LinearScheduleSchema]);
export type CosineSchedule = Static<typeof CosineScheduleSchema>;
export type LinearSchedule = Static<typeof LinearScheduleSchema>;
export type NoiseSchedule = Static<typeof NoiseScheduleSchema>;

/** Timestep meaning "fully denoised": alphaCumprod = 1, sigma = 0, logSnr = +Infinity. */
export const CLEAN_TIMESTEP = -1;

/** Everything a sampler needs about one point of the schedule. */
export interface SchedulePoint {
  t: number;
  alphaCumprod: number;
  alpha: number;
  sigma: number;
  logSnr: number;
}

/** Validates (after filling defaults) and returns a schedule, or throws a DiffusionError. */
export function parseNoiseSchedule(input: unknown): NoiseSchedule {
  const withDefaults = Value.Default(NoiseScheduleSchema, structuredClone(input));
  if (!Value.Check(NoiseScheduleSchema, withDefaults)) {
    const first = [...Value.Errors(NoiseScheduleSchema, withDefaults)][0];
    throw new DiffusionError('invalid_schedule', `invalid noise schedule: ${first?.message ?? 'unknown'}`, first?.instancePath);
  }
  if (withDefaults.kind === 'cosine' && withDefaults.minAlphaCumprod >= withDefaults.maxAlphaCumprod) {
    throw new DiffusionError('invalid_schedule', 'minAlphaCumprod must be below maxAlphaCumprod', 'minAlphaCumprod');
  }
  return withDefaults;
}

/** Largest timestep a spacing may return: timesteps live in [0, maxTimestep]. */
export function maxTimestep(schedule: NoiseSchedule): number {
  return schedule.trainSteps - 1;
}

function cosineBase(schedule: CosineSchedule, fraction: number): number {
  return Math.cos(((fraction + schedule.s) / (1 + schedule.s)) * (Math.PI / 2)) ** 2;
}

function cosineAlphaCumprod(schedule: CosineSchedule, t: number): number {
  const fraction = Math.min(t, schedule.trainSteps) / schedule.trainSteps;
  const raw = cosineBase(schedule, fraction) / cosineBase(schedule, 0);
  return Math.min(schedule.maxAlphaCumprod, Math.max(schedule.minAlphaCumprod, raw));
}

// Discrete DDPM tables are computed once per distinct config: sampling calls logSnr per step.
const linearLogSnrTables = new Map<string, Float64Array>();

function linearLogSnrTable(schedule: LinearSchedule): Float64Array {
  const key = `${schedule.trainSteps}:${schedule.betaStart}:${schedule.betaEnd}`;
  let table = linearLogSnrTables.get(key);
  if (table === undefined) {
    table = new Float64Array(schedule.trainSteps);
    let logAlphaCumprod = 0;
    for (let i = 0; i < schedule.trainSteps; i++) {
      const beta = schedule.betaStart + ((schedule.betaEnd - schedule.betaStart) * i) / (schedule.trainSteps - 1);
      logAlphaCumprod += Math.log1p(-beta);
      // log(abar / (1 - abar)) computed without cancellation near abar = 1
      table[i] = logAlphaCumprod - Math.log(-Math.expm1(logAlphaCumprod));
    }
    linearLogSnrTables.set(key, table);
  }
  return table;
}

function linearLogSnr(schedule: LinearSchedule, t: number): number {
  const table = linearLogSnrTable(schedule);
  const clamped = Math.min(Math.max(t, 0), table.length - 1);
  const lower = Math.floor(clamped);
  const upper = Math.min(lower + 1, table.length - 1);
  const weight = clamped - lower;
  return table[lower] + (table[upper] - table[lower]) * weight;
}

/** alphaCumprod at float t; 1 for t < 0 (the clean target). */
export function alphaCumprod(schedule: NoiseSchedule, t: number): number {
  if (t < 0) return 1;
  return schedule.kind === 'cosine' ? cosineAlphaCumprod(schedule, t) : sigmoid(linearLogSnr(schedule, t));
}

/** log(alphaCumprod / (1 - alphaCumprod)); +Infinity for the clean target. */
export function logSnr(schedule: NoiseSchedule, t: number): number {
  if (t < 0) return Infinity;
  if (schedule.kind === 'linear') return linearLogSnr(schedule, t);
  const abar = cosineAlphaCumprod(schedule, t);
  return Math.log(abar) - Math.log1p(-abar);
}

/** Signal scale alpha(t) = sqrt(alphaCumprod). */
export function alphaAt(schedule: NoiseSchedule, t: number): number {
  return Math.sqrt(alphaCumprod(schedule, t));
}

/** Noise scale sigma(t) = sqrt(1 - alphaCumprod). */
export function sigmaAt(schedule: NoiseSchedule, t: number): number {
  return schedulePoint(schedule, t).sigma;
}

/** Variance-exploding sigma (Karras/k-diffusion): sigma / alpha = exp(-logSnr / 2). */
export function karrasSigmaAt(schedule: NoiseSchedule, t: number): number {
  return Math.exp(-logSnr(schedule, t) / 2);
}

export function schedulePoint(schedule: NoiseSchedule, t: number): SchedulePoint {
  if (t < 0) return { t, alphaCumprod: 1, alpha: 1, sigma: 0, logSnr: Infinity };
  const lambda = logSnr(schedule, t);
  // sigmoid(+-lambda) keeps both alpha^2 and sigma^2 accurate at either end of the schedule
  const abar = sigmoid(lambda);
  return { t, alphaCumprod: abar, alpha: Math.sqrt(abar), sigma: Math.sqrt(sigmoid(-lambda)), logSnr: lambda };
}

/**
 * Inverse of logSnr: the timestep in [0, trainSteps] (cosine) or [0, trainSteps - 1]
 * (linear) whose log-SNR is `lambda`, clamped to the schedule's reachable range.
 */
export function timestepForLogSnr(schedule: NoiseSchedule, lambda: number): number {
  if (schedule.kind === 'cosine') {
    const abar = Math.min(schedule.maxAlphaCumprod, Math.max(schedule.minAlphaCumprod, sigmoid(lambda)));
    const angle = Math.acos(Math.sqrt(abar * cosineBase(schedule, 0)));
    const fraction = ((angle * 2) / Math.PI) * (1 + schedule.s) - schedule.s;
    return Math.min(schedule.trainSteps, Math.max(0, fraction * schedule.trainSteps));
  }
  const table = linearLogSnrTable(schedule);
  const last = table.length - 1;
  if (lambda >= table[0]) return 0;
  if (lambda <= table[last]) return last;
  // table is strictly decreasing: find i with table[i] >= lambda > table[i + 1]
  let low = 0;
  let high = last;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (table[middle] >= lambda) low = middle;
    else high = middle;
  }
  return low + (table[low] - lambda) / (table[low] - table[high]);
}
