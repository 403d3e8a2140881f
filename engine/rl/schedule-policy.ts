/**
 * The action space of a learned K-step schedule, as one real vector:
 *   [K step-size logits | K guidance log-scales (optional) | K eta logits (optional)].
 * Step sizes: softmax(logits) splits the log-SNR span from the noisiest timestep to t = 0 into
 * K gaps; the first timestep is the noisiest one, each next one a gap further (so timesteps are
 * always strictly descending and in range, whatever the vector). Guidance = exp(g), eta =
 * sigmoid(e). Any vector decodes to a valid schedule, so a Gaussian policy needs no constraints.
 */
import Type, { type Static } from 'typebox';
import { logSnr, maxTimestep, timestepForLogSnr, type NoiseSchedule } from '../diffusion/index.ts';
import { logit, sigmoid } from '../math.ts';

export const ScheduleSpaceSchema = Type.Object({
  steps: Type.Integer({ minimum: 1, maximum: 1000 }),
  learnGuidance: Type.Boolean({ default: false }),
  learnEta: Type.Boolean({ default: false }),
});
export type ScheduleSpace = Static<typeof ScheduleSpaceSchema>;

export interface DecodedSchedule {
  timesteps: number[];
  guidance?: number[];
  eta?: number[];
}

export function actionSize(space: ScheduleSpace): number {
  return space.steps * (1 + (space.learnGuidance ? 1 : 0) + (space.learnEta ? 1 : 0));
}

function ends(schedule: NoiseSchedule) {
  const first = logSnr(schedule, maxTimestep(schedule));
  const last = logSnr(schedule, 0);
  return { first, last, span: last - first };
}

export function decodeSchedule(action: ArrayLike<number>, space: ScheduleSpace, schedule: NoiseSchedule): DecodedSchedule {
  const K = space.steps;
  if (action.length !== actionSize(space)) throw new RangeError(`a ${K}-step schedule action has ${actionSize(space)} values, got ${action.length}`);
  const { first, span } = ends(schedule);
  let max = -Infinity;
  for (let i = 0; i < K; i++) max = Math.max(max, action[i]);
  const weights = Array.from({ length: K }, (_, i) => Math.exp(action[i] - max));
  const total = weights.reduce((a, b) => a + b, 0);
  const timesteps: number[] = [];
  let cumulative = 0;
  for (let i = 0; i < K; i++) {
    // The first is the noisiest timestep itself (inverting the clipped log-SNR there is lossy).
    const t = i === 0 ? maxTimestep(schedule) : Math.min(maxTimestep(schedule), timestepForLogSnr(schedule, first + span * cumulative));
    // Keep strictly descending even when a gap underflows to nothing.
    timesteps.push(i > 0 ? Math.min(t, timesteps[i - 1] - 1e-3) : t);
    cumulative += weights[i] / total;
  }
  if (timesteps[K - 1] < 0) throw new RangeError('the schedule ran out of timesteps (too many steps for the span)');
  const out: DecodedSchedule = { timesteps };
  let offset = K;
  if (space.learnGuidance) {
    out.guidance = Array.from({ length: K }, (_, i) => Math.exp(action[offset + i]));
    offset += K;
  }
  if (space.learnEta) out.eta = Array.from({ length: K }, (_, i) => sigmoid(action[offset + i]));
  return out;
}

/**
 * The action that decodes to (nearly) the given schedule: a hand-made schedule is where
 * learning starts. The first timestep is always the noisiest; others map exactly.
 */
export function encodeSchedule(
  target: { timesteps: readonly number[]; guidance: number | readonly number[]; eta?: number | readonly number[] },
  space: ScheduleSpace,
  schedule: NoiseSchedule,
): Float64Array {
  const K = space.steps;
  if (target.timesteps.length !== K) throw new RangeError(`${target.timesteps.length} timesteps for a ${K}-step schedule`);
  const { first, last, span } = ends(schedule);
  const lambdas = [...target.timesteps.map((t, i) => (i === 0 ? first : logSnr(schedule, t))), last];
  const action = new Float64Array(actionSize(space));
  for (let i = 0; i < K; i++) action[i] = Math.log(Math.max(1e-6, (lambdas[i + 1] - lambdas[i]) / span));
  let offset = K;
  const at = (value: number | readonly number[], i: number) => (typeof value === 'number' ? value : value[i]);
  if (space.learnGuidance) {
    for (let i = 0; i < K; i++) action[offset + i] = Math.log(Math.max(0.05, at(target.guidance, i)));
    offset += K;
  }
  if (space.learnEta) {
    for (let i = 0; i < K; i++) {
      const eta = Math.min(0.99, Math.max(0.01, at(target.eta ?? 0, i)));
      action[offset + i] = logit(eta);
    }
  }
  return action;
}
