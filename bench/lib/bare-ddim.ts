import { alphaCumprod, type NoiseSchedule } from '../../engine/diffusion/index.ts';

/**
 * One guided DDIM step (eta 0) of the bare loops the benches time against the engine, written out
 * plainly as a hand-rolled loop would: `v` holds the conditional rows then the unconditional ones
 * (v-prediction), `x` the batch's images; returns x at the next timestep (t = -1: the clean image).
 */
export function bareDdimStep(
  schedule: NoiseSchedule,
  timesteps: readonly number[],
  s: number,
  x: Float32Array,
  v: Float32Array,
  batch: number,
  size: number,
  cfg: number,
): Float32Array<ArrayBuffer> {
  const a = alphaCumprod(schedule, timesteps[s]);
  const aNext = s + 1 < timesteps.length ? alphaCumprod(schedule, timesteps[s + 1]) : 1;
  const next = new Float32Array(batch * size);
  for (let i = 0; i < next.length; i++) {
    const out = v[batch * size + i] + cfg * (v[i] - v[batch * size + i]);
    const x0 = Math.sqrt(a) * x[i] - Math.sqrt(1 - a) * out;
    const eps = Math.sqrt(1 - a) * x[i] + Math.sqrt(a) * out;
    next[i] = Math.sqrt(aNext) * x0 + Math.sqrt(1 - aNext) * eps;
  }
  return next;
}
