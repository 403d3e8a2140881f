/**
 * Compute accounting for block-by-block model runs, from the manifest's per-sample FLOPs.
 * Every model evaluation of every batch element is counted, so figures are exact, not estimates.
 */
export interface SegmentFlops {
  embed: number;
  blocks: readonly number[];
  head: number;
}

export type BlockAction = 'run' | 'reuse' | 'drop';

export interface StepAccount {
  step: number;
  /** Block executions summed over batch elements, by action. */
  run: number;
  reuse: number;
  drop: number;
  flopsUsed: number;
  flopsFull: number;
}

export class ComputeAccount {
  readonly steps: StepAccount[] = [];
  /** FLOPs of the unconditional (guidance) half, counted separately as a lever of its own. */
  uncondFlopsUsed = 0;
  uncondFlopsFull = 0;

  constructor(readonly flops: SegmentFlops) {}

  get fullPerSample(): number {
    return this.flops.embed + this.flops.head + this.flops.blocks.reduce((a, b) => a + b, 0);
  }

  /** Records one evaluation: `actions[b][i]` is block b's action for batch element i. */
  record(step: number, actions: ReadonlyArray<ReadonlyArray<BlockAction>>, batch: number, uncondFrom = batch): void {
    const entry = this.stepEntry(step);
    const fixed = this.flops.embed + this.flops.head;
    entry.flopsUsed += fixed * batch;
    entry.flopsFull += this.fullPerSample * batch;
    this.uncondFlopsUsed += fixed * (batch - uncondFrom);
    this.uncondFlopsFull += this.fullPerSample * (batch - uncondFrom);
    actions.forEach((perElement, block) => {
      perElement.forEach((action, element) => {
        entry[action]++;
        if (action === 'run') {
          entry.flopsUsed += this.flops.blocks[block];
          if (element >= uncondFrom) this.uncondFlopsUsed += this.flops.blocks[block];
        }
      });
    });
  }

  private stepEntry(step: number): StepAccount {
    let entry = this.steps.find((s) => s.step === step);
    if (!entry) {
      entry = { step, run: 0, reuse: 0, drop: 0, flopsUsed: 0, flopsFull: 0 };
      this.steps.push(entry);
    }
    return entry;
  }

  summary() {
    const sum = (key: 'run' | 'reuse' | 'drop' | 'flopsUsed' | 'flopsFull') => this.steps.reduce((total, s) => total + s[key], 0);
    const flopsUsed = sum('flopsUsed');
    const flopsFull = sum('flopsFull');
    return {
      flops: flopsUsed,
      flops_full: flopsFull,
      flops_saved_fraction: flopsFull > 0 ? 1 - flopsUsed / flopsFull : 0,
      blocks_run: sum('run'),
      blocks_reused: sum('reuse'),
      blocks_dropped: sum('drop'),
      uncond_flops: this.uncondFlopsUsed,
      uncond_flops_full: this.uncondFlopsFull,
      per_step: this.steps.map((s) => ({ step: s.step, run: s.run, reuse: s.reuse, drop: s.drop, flops_saved_fraction: s.flopsFull > 0 ? 1 - s.flopsUsed / s.flopsFull : 0 })),
    };
  }
}
