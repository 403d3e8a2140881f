/**
 * The contract between skip policies and the model runner. A policy is immutable and may be
 * shared (it rides on a MODEL handle held in the output cache); `start` creates the mutable
 * state of ONE sampling run, which the runner drops when the run ends.
 */
import type { FloatTensor } from '../onnx/tensors.ts';

/**
 * run the block; reuse the residual it produced when it last ran; drop it (identity); share:
 * an unconditional element takes the residual its conditional partner got from this block at
 * this step (cond and uncond see the same x and t, only the label differs), at no cost.
 */
export type BlockAction = 'run' | 'reuse' | 'drop' | 'share';

/**
 * The unconditional half of a guided batch, per step: run it; skip it and use the conditional
 * output (guidance off for that step); or skip it and reuse the guidance direction
 * (cond - uncond) of the last step it ran, as it was in model-output units ('reuse') or
 * rescaled so that it moves the predicted clean image as much as it did then ('reuse-x0').
 */
export type UncondPass = 'run' | 'skip' | 'reuse' | 'reuse-x0';

/** What a policy sees when it decides for one block at one step. */
export interface BlockQuery {
  readonly step: number;
  readonly steps: number;
  readonly block: number;
  readonly blocks: number;
  /** This block's input now, for the whole batch being run ([batch, ...]). */
  readonly input: FloatTensor;
  /** True for the elements of the unconditional (guidance) half. */
  isUncond(element: number): boolean;
}

export interface SkipRun {
  /** The action for one batch element; `hasResidual` says whether 'reuse' is possible. */
  decide(query: BlockQuery, element: number, hasResidual: boolean): BlockAction;
  /** Told after a block ran for an element, with the input it ran on (a view: copy to keep). */
  ran?(block: number, element: number, input: Float32Array): void;
  /** How to get the unconditional half at this step; absent means 'run'. */
  uncondPass?(step: number, steps: number): UncondPass;
  /** Whether the policy may ever reuse this block: the runner keeps residuals only for those. */
  needsResidual(block: number): boolean;
  /**
   * True only when, at this step, every block runs for every element of `half` whatever the
   * inputs, and the run keeps nothing of the step (no residuals to reuse, no `ran` to tell):
   * the runner may then run the whole model in one call (full.onnx) instead of block by block.
   * Absent means no (decisions that look at the inputs need the chain).
   */
  runsEveryBlock?(step: number, steps: number, half: 'cond' | 'uncond'): boolean;
}

export interface SkipPolicy {
  /** Creates the per-run decision state; called once per sampling run. */
  start(blocks: number, batch: number): SkipRun;
}

/** How SkipGate asks blocks to be run; null on a model handle means run every block. */
export interface SkipSettings {
  readonly policy: SkipPolicy;
  /** One line for people (stats, node card). */
  readonly description: string;
  /** The JSON config the policy was built from, for reports and for the RL engineer. */
  readonly config?: unknown;
}

/**
 * Which row of a per-step table (mask rows, learned logits) applies at `step` of `steps`.
 * Equal counts map one to one; otherwise rows are stretched over the run by fraction, so a
 * 4-row mask applied to an 8-step run uses each row for two steps.
 */
export function rowForStep(step: number, steps: number, rows: number): number {
  if (rows === steps) return step;
  return Math.min(rows - 1, Math.floor((step * rows) / steps));
}
