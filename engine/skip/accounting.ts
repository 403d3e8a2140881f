/**
 * Compute accounting for block-by-block model runs, from the manifest's per-sample FLOPs.
 * Every model evaluation of every batch element is counted, so figures are exact, not estimates.
 * The unconditional (guidance) half is also counted on its own, so what block skipping saves
 * and what the guidance lever saves can be told apart.
 */
import type { BlockAction } from './policy.ts';

export type { BlockAction } from './policy.ts';

export interface SegmentFlops {
  embed: number;
  blocks: readonly number[];
  head: number;
}

export interface StepAccount {
  step: number;
  /** Block executions summed over batch elements, by action. */
  run: number;
  reuse: number;
  drop: number;
  share: number;
  /** Unconditional passes not run at all (guidance lever), one per element. */
  uncondSkipped: number;
  flopsUsed: number;
  flopsFull: number;
  uncondFlopsUsed: number;
  uncondFlopsFull: number;
  /** Wall time of this step's model evaluation. */
  seconds: number;
}

/** One model evaluation as the runner saw it. */
export interface EvaluationRecord {
  step: number;
  /** actions[b][e]: block b's action for element e of the elements that went through the model. */
  actions: ReadonlyArray<ReadonlyArray<BlockAction>>;
  /** Elements that went through the model (embed + head ran for each). */
  elements: number;
  /** Elements at or past this index (of those that ran) are unconditional. */
  uncondFrom: number;
  /** Unconditional elements whose pass was skipped entirely (not among `elements`). */
  uncondSkipped?: number;
  seconds?: number;
}

export class ComputeAccount {
  readonly steps: StepAccount[] = [];

  constructor(readonly flops: SegmentFlops) {}

  get fullPerSample(): number {
    return this.flops.embed + this.flops.head + this.flops.blocks.reduce((a, b) => a + b, 0);
  }

  record(evaluation: EvaluationRecord): void {
    const { actions, elements, uncondFrom } = evaluation;
    const skipped = evaluation.uncondSkipped ?? 0;
    const entry = this.stepEntry(evaluation.step);
    const fixed = this.flops.embed + this.flops.head;
    const uncondRan = Math.max(0, elements - uncondFrom);
    entry.flopsUsed += fixed * elements;
    entry.flopsFull += this.fullPerSample * (elements + skipped);
    entry.uncondFlopsUsed += fixed * uncondRan;
    entry.uncondFlopsFull += this.fullPerSample * (uncondRan + skipped);
    entry.uncondSkipped += skipped;
    entry.seconds += evaluation.seconds ?? 0;
    actions.forEach((perElement, block) => {
      perElement.forEach((action, element) => {
        entry[action]++;
        if (action !== 'run') return;
        entry.flopsUsed += this.flops.blocks[block];
        if (element >= uncondFrom) entry.uncondFlopsUsed += this.flops.blocks[block];
      });
    });
  }

  private stepEntry(step: number): StepAccount {
    let entry = this.steps.find((s) => s.step === step);
    if (!entry) {
      entry = { step, run: 0, reuse: 0, drop: 0, share: 0, uncondSkipped: 0, flopsUsed: 0, flopsFull: 0, uncondFlopsUsed: 0, uncondFlopsFull: 0, seconds: 0 };
      this.steps.push(entry);
    }
    return entry;
  }

  summary() {
    const sum = (key: Exclude<keyof StepAccount, 'step'>) => this.steps.reduce((total, s) => total + s[key], 0);
    const flopsUsed = sum('flopsUsed');
    const flopsFull = sum('flopsFull');
    const uncondUsed = sum('uncondFlopsUsed');
    const uncondFull = sum('uncondFlopsFull');
    const saved = (used: number, full: number) => (full > 0 ? 1 - used / full : 0);
    return {
      flops: flopsUsed,
      flops_full: flopsFull,
      flops_saved_fraction: saved(flopsUsed, flopsFull),
      /** Of the whole run's full FLOPs: saved in the conditional half (block skipping proper)... */
      flops_saved_cond_fraction: flopsFull > 0 ? (flopsFull - uncondFull - (flopsUsed - uncondUsed)) / flopsFull : 0,
      /** ...and saved in the unconditional half (the guidance lever); the two add up. */
      flops_saved_uncond_fraction: flopsFull > 0 ? (uncondFull - uncondUsed) / flopsFull : 0,
      blocks_run: sum('run'),
      blocks_reused: sum('reuse'),
      blocks_dropped: sum('drop'),
      blocks_shared: sum('share'),
      uncond_passes_skipped: sum('uncondSkipped'),
      uncond_flops: uncondUsed,
      uncond_flops_full: uncondFull,
      model_seconds: sum('seconds'),
      per_step: this.steps.map((s) => ({
        step: s.step,
        run: s.run,
        reuse: s.reuse,
        drop: s.drop,
        share: s.share,
        uncond_skipped: s.uncondSkipped,
        flops: s.flopsUsed,
        flops_full: s.flopsFull,
        flops_saved_fraction: saved(s.flopsUsed, s.flopsFull),
        seconds: s.seconds,
      })),
    };
  }
}

export type ComputeSummary = ReturnType<ComputeAccount['summary']>;
