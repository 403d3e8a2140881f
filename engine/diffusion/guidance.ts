/**
 * Classifier-free guidance. The model runs once on a doubled batch laid out
 * [cond batch; uncond batch]; guided = uncond + scale * (cond - uncond).
 */
import { DiffusionError } from './errors.ts';

/** Combines a 2B output into B guided outputs. scale 1 -> cond, scale 0 -> uncond. */
export function applyClassifierFreeGuidance(doubledOutput: Float32Array, scale: number): Float32Array {
  if (doubledOutput.length % 2 !== 0) {
    throw new DiffusionError('shape_mismatch', `guided output must hold a doubled batch, got ${doubledOutput.length} values`, 'modelOutput');
  }
  const half = doubledOutput.length / 2;
  const guided = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const cond = doubledOutput[i];
    const uncond = doubledOutput[half + i];
    guided[i] = uncond + scale * (cond - uncond);
  }
  return guided;
}

/** The sample twice, [x; x], to feed the cond and uncond halves in one model call. */
export function doubleBatch(x: Float32Array): Float32Array {
  const doubled = new Float32Array(x.length * 2);
  doubled.set(x, 0);
  doubled.set(x, x.length);
  return doubled;
}

/** Class labels for the doubled batch: [labels; nullClass x B]. */
export function guidanceLabels(labels: ArrayLike<number>, nullClass: number): Int32Array {
  const doubled = new Int32Array(labels.length * 2);
  for (let i = 0; i < labels.length; i++) {
    doubled[i] = labels[i];
    doubled[labels.length + i] = nullClass;
  }
  return doubled;
}

/** Guidance scale for one step: a constant, or a per-step array (e.g. learned). */
export function guidanceScaleAt(scale: number | readonly number[], step: number): number {
  if (typeof scale === 'number') return scale;
  if (step < 0 || step >= scale.length) {
    throw new DiffusionError('invalid_options', `per-step guidance scale has ${scale.length} entries, no entry for step ${step}`, 'guidanceScale');
  }
  return scale[step];
}

/** Whether a step needs the uncond half at all (scale 1 is plain conditional sampling). */
export function needsUnconditional(scale: number): boolean {
  return scale !== 1;
}
