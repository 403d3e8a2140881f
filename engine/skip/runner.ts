import type { SegmentedModel } from '../onnx/index.ts';
import type { FloatTensor } from '../onnx/tensors.ts';
import { ComputeAccount } from './accounting.ts';
import type { BlockAction, BlockQuery, SkipRun, SkipSettings, UncondPass } from './policy.ts';

export type { BlockAction, SkipRun, SkipSettings, UncondPass } from './policy.ts';

export interface EvaluateInfo {
  step: number;
  steps: number;
  /** Elements at or past this index are the unconditional half of a guided batch [cond; uncond]. */
  uncondFrom: number;
  /**
   * How much the predicted clean image moves per unit of model output at this step (v: -sigma,
   * eps: -sigma/alpha, x0: 1); needed only to reuse a guidance direction in clean-image units.
   */
  x0PerOutput?: number;
}

/**
 * Runs a segmented model block by block for ONE sampling run (create one per run, never share).
 * Holds that run's state: the policy's per-run decisions, the residual each block last produced
 * per batch element (for 'reuse'), the last guidance direction per element (for skipped
 * unconditional passes), and the compute account. Nothing here outlives the run, which is what
 * keeps a gated MODEL held in the output cache from carrying residuals into another run.
 */
export class ModelRunner {
  readonly account: ComputeAccount;
  private readonly residuals: Array<Array<Float32Array | undefined>> = [];
  /** Per conditional element: cond - uncond model output at the last step the uncond half ran. */
  private guidanceDelta: Float32Array | undefined;
  private guidanceDeltaX0PerOutput: number | undefined;
  private skipRun: SkipRun | null = null;

  constructor(
    readonly model: SegmentedModel,
    private readonly skip: SkipSettings | null,
  ) {
    const { embed, blocks, head } = model.flops;
    this.account = new ComputeAccount({ embed, blocks, head });
  }

  async evaluate(x: Float32Array, t: Float32Array, labels: Int32Array, info: EvaluateInfo): Promise<Float32Array> {
    const started = performance.now();
    const batch = t.length;
    const blocks = this.model.blockCount;
    if (!this.skip) return this.wholeModel(x, t, labels, info, batch, started);
    const skipRun = (this.skipRun ??= this.skip.policy.start(blocks, batch));
    const guided = info.uncondFrom < batch;
    let pass: UncondPass = guided ? (skipRun.uncondPass?.(info.step, info.steps) ?? 'run') : 'run';
    // Nothing to reuse before the unconditional half first ran: run it.
    if ((pass === 'reuse' || pass === 'reuse-x0') && !this.guidanceDelta) pass = 'run';
    if (pass === 'reuse-x0' && (info.x0PerOutput === undefined || this.guidanceDeltaX0PerOutput === undefined))
      throw new Error('reusing the guidance direction in clean-image units needs x0PerOutput for every step');
    const elements = pass === 'run' ? batch : info.uncondFrom;
    const size = x.length / batch;

    // Copies, not views, when the batch is cut: tensors are handed to onnxruntime whole.
    const xRun = elements === batch ? x : x.slice(0, elements * size);
    const tRun = elements === batch ? t : t.slice(0, elements);
    const labelsRun = elements === batch ? labels : labels.slice(0, elements);
    const halves: Array<'cond' | 'uncond'> = elements > info.uncondFrom ? ['cond', 'uncond'] : ['cond'];
    if (skipRun.runsEveryBlock && halves.every((half) => skipRun.runsEveryBlock!(info.step, info.steps, half))) {
      // Nothing skipped at this step and nothing of it kept: the whole model in one call.
      const out = await this.wholeModel(xRun, tRun, labelsRun, info, batch, started);
      return guided ? this.completeGuidedBatch(out, pass, info, size) : out;
    }
    const { h: h0, emb } = await this.model.embed({ x: xRun, t: tRun, label: labelsRun });
    let h = h0;
    const actions: BlockAction[][] = [];
    for (let block = 0; block < blocks; block++) {
      const query: BlockQuery = { step: info.step, steps: info.steps, block, blocks, input: h, isUncond: (e) => e >= info.uncondFrom };
      const cache = (this.residuals[block] ??= []);
      const perElement = Array.from({ length: elements }, (_, e) => skipRun.decide(query, e, cache[e] !== undefined));
      actions.push(perElement);
      h = await this.runBlock(block, h, emb, perElement, skipRun, info.uncondFrom);
    }
    const out = await this.model.head({ h, emb, x: xRun });
    const full = guided ? this.completeGuidedBatch(out, pass, info, size) : out;
    this.account.record({ step: info.step, actions, elements, uncondFrom: info.uncondFrom, uncondSkipped: batch - elements, seconds: seconds(started) });
    return full;
  }

  /** Every block for every element given, in one call (full.onnx where the model has it), accounted as such. */
  private async wholeModel(x: Float32Array, t: Float32Array, labels: Int32Array, info: EvaluateInfo, batch: number, started: number): Promise<Float32Array> {
    const out = await this.model.forwardAll(x, t, labels);
    const elements = t.length;
    const all: BlockAction[] = new Array(elements).fill('run');
    this.account.record({
      step: info.step,
      actions: Array.from({ length: this.model.blockCount }, () => all),
      elements,
      uncondFrom: info.uncondFrom,
      uncondSkipped: batch - elements,
      seconds: seconds(started),
    });
    return out;
  }

  /** Fills in the unconditional half when it was skipped; remembers cond - uncond when it ran. */
  private completeGuidedBatch(out: Float32Array, pass: UncondPass, info: EvaluateInfo, size: number): Float32Array {
    const half = info.uncondFrom * size;
    if (pass === 'run') {
      const delta = (this.guidanceDelta ??= new Float32Array(half));
      for (let k = 0; k < half; k++) delta[k] = out[k] - out[half + k];
      this.guidanceDeltaX0PerOutput = info.x0PerOutput;
      return out;
    }
    const full = new Float32Array(2 * half);
    full.set(out.subarray(0, half), 0);
    if (pass === 'skip') {
      full.set(out.subarray(0, half), half);
      return full;
    }
    // Same direction; in clean-image units it is rescaled by the ratio of then and now.
    const scale = pass === 'reuse-x0' ? this.guidanceDeltaX0PerOutput! / info.x0PerOutput! : 1;
    for (let k = 0; k < half; k++) full[half + k] = out[k] - scale * this.guidanceDelta![k];
    return full;
  }

  /** Runs block `block` for the elements that need it (as one sub-batch), reuses or drops for the rest. */
  private async runBlock(
    block: number,
    h: FloatTensor,
    emb: FloatTensor,
    actions: readonly BlockAction[],
    skipRun: SkipRun,
    uncondFrom: number,
  ): Promise<FloatTensor> {
    const batch = h.dims[0];
    const size = h.data.length / batch;
    const embSize = emb.data.length / batch;
    const running = actions.flatMap((action, e) => (action === 'run' ? [e] : []));
    const keepResidual = skipRun.needsResidual(block);
    const keep = (e: number, input: Float32Array, output: Float32Array) => {
      if (keepResidual) {
        const residual = (this.residuals[block][e] ??= new Float32Array(size));
        for (let k = 0; k < size; k++) residual[k] = output[k] - input[k];
      }
      skipRun.ran?.(block, e, input);
    };

    if (running.length === batch) {
      // Everyone runs: no sub-batch copies.
      const result = await this.model.block(block, { h, emb });
      for (let e = 0; e < batch; e++) keep(e, h.data.subarray(e * size, (e + 1) * size), result.data.subarray(e * size, (e + 1) * size));
      return result;
    }
    if (actions.every((action) => action === 'drop')) return h;

    const out = Float32Array.from(h.data);
    if (running.length > 0) {
      const subH = new Float32Array(running.length * size);
      const subEmb = new Float32Array(running.length * embSize);
      running.forEach((e, i) => {
        subH.set(h.data.subarray(e * size, (e + 1) * size), i * size);
        subEmb.set(emb.data.subarray(e * embSize, (e + 1) * embSize), i * embSize);
      });
      const result = await this.model.block(block, {
        h: { data: subH, dims: [running.length, ...h.dims.slice(1)] },
        emb: { data: subEmb, dims: [running.length, ...emb.dims.slice(1)] },
      });
      running.forEach((e, i) => {
        const output = result.data.subarray(i * size, (i + 1) * size);
        out.set(output, e * size);
        keep(e, h.data.subarray(e * size, (e + 1) * size), output);
      });
    }
    actions.forEach((action, e) => {
      if (action !== 'reuse') return;
      const residual = this.residuals[block][e];
      if (!residual) throw new Error(`block ${block} was asked to reuse a residual it never produced (element ${e}); a policy must check hasResidual`);
      for (let k = 0; k < size; k++) out[e * size + k] += residual[k];
    });
    // After run and reuse: the conditional partner's residual at this block is final now.
    actions.forEach((action, e) => {
      if (action !== 'share') return;
      const partner = e - uncondFrom;
      if (partner < 0) throw new Error(`element ${e} is not in the unconditional half, so it has no conditional partner to share block ${block} with`);
      for (let k = 0; k < size; k++) out[e * size + k] += out[partner * size + k] - h.data[partner * size + k];
    });
    return { data: out, dims: h.dims };
  }
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
