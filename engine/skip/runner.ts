import type { SegmentedModel } from '../onnx/index.ts';
import type { FloatTensor } from '../onnx/tensors.ts';
import { ComputeAccount, type BlockAction } from './accounting.ts';

/** How SkipGate asks blocks to be run; null on a model means run every block. */
export interface SkipSettings {
  readonly policy: SkipPolicy;
  readonly description: string;
}

/** What a skip policy sees when it decides for one block at one step. */
export interface BlockQuery {
  step: number;
  steps: number;
  block: number;
  blocks: number;
  /** Per batch element: this block's input now. */
  input: FloatTensor;
  /** True for the elements of the unconditional (guidance) half. */
  isUncond: (element: number) => boolean;
}

export interface SkipPolicy {
  /** Creates the per-run decision state (e.g. last inputs); called once per sampling run. */
  start(blocks: number, batch: number): SkipRun;
}

export interface SkipRun {
  decide(query: BlockQuery, element: number, hasResidual: boolean): BlockAction;
  /** Told after a block ran for an element, with the input it ran on. */
  ran?(block: number, element: number, input: Float32Array): void;
}

export interface EvaluateInfo {
  step: number;
  steps: number;
  /** Elements at or past this index are the unconditional half of a guided batch. */
  uncondFrom: number;
}

/**
 * Runs a segmented model block by block for one sampling run. Holds that run's state: the
 * residual each block last produced per batch element (for 'reuse'), and the compute account.
 */
export class ModelRunner {
  readonly account: ComputeAccount;
  private readonly residuals: Array<Array<Float32Array | undefined>> = [];
  private skipRun: SkipRun | null = null;

  constructor(
    readonly model: SegmentedModel,
    private readonly skip: SkipSettings | null,
  ) {
    const { embed, blocks, head } = model.flops;
    this.account = new ComputeAccount({ embed, blocks, head });
  }

  async evaluate(x: Float32Array, t: Float32Array, labels: Int32Array, info: EvaluateInfo): Promise<Float32Array> {
    const batch = t.length;
    if (!this.skip) {
      const out = await this.model.forward(x, t, labels);
      const all: BlockAction[] = new Array(batch).fill('run');
      this.account.record(info.step, this.model.flops.blocks.map(() => all), batch, info.uncondFrom);
      return out;
    }
    this.skipRun ??= this.skip.policy.start(this.model.blockCount, batch);
    const { h: h0, emb } = await this.model.embed({ x, t, label: labels });
    let h = h0;
    const actions: BlockAction[][] = [];
    for (let block = 0; block < this.model.blockCount; block++) {
      const query: BlockQuery = { step: info.step, steps: info.steps, block, blocks: this.model.blockCount, input: h, isUncond: (e) => e >= info.uncondFrom };
      const cache = (this.residuals[block] ??= []);
      const perElement = Array.from({ length: batch }, (_, e) => this.skipRun!.decide(query, e, cache[e] !== undefined));
      actions.push(perElement);
      h = await this.runBlock(block, h, emb, perElement);
    }
    this.account.record(info.step, actions, batch, info.uncondFrom);
    return this.model.head({ h, emb, x });
  }

  /** Runs block `block` for the elements that need it (as one sub-batch), reuses or drops for the rest. */
  private async runBlock(block: number, h: FloatTensor, emb: FloatTensor, actions: readonly BlockAction[]): Promise<FloatTensor> {
    const batch = h.dims[0];
    const size = h.data.length / batch;
    const embSize = emb.data.length / batch;
    const out = Float32Array.from(h.data);
    const running = actions.flatMap((action, e) => (action === 'run' ? [e] : []));
    if (running.length > 0) {
      const subH = new Float32Array(running.length * size);
      const subEmb = new Float32Array(running.length * embSize);
      running.forEach((e, i) => {
        subH.set(h.data.subarray(e * size, (e + 1) * size), i * size);
        subEmb.set(emb.data.subarray(e * embSize, (e + 1) * embSize), i * embSize);
      });
      const result = await this.model.block(block, { h: { data: subH, dims: [running.length, ...h.dims.slice(1)] }, emb: { data: subEmb, dims: [running.length, ...emb.dims.slice(1)] } });
      running.forEach((e, i) => {
        const input = h.data.subarray(e * size, (e + 1) * size);
        const output = result.data.subarray(i * size, (i + 1) * size);
        out.set(output, e * size);
        const residual = new Float32Array(size);
        for (let k = 0; k < size; k++) residual[k] = output[k] - input[k];
        this.residuals[block][e] = residual;
        this.skipRun!.ran?.(block, e, input);
      });
    }
    actions.forEach((action, e) => {
      if (action !== 'reuse') return;
      const residual = this.residuals[block][e];
      if (!residual) throw new Error(`block ${block} was asked to reuse a residual it never produced (element ${e})`);
      for (let k = 0; k < size; k++) out[e * size + k] += residual[k];
    });
    return { data: out, dims: h.dims };
  }
}
