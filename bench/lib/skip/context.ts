/**
 * What every part of bench/skip.ts shares: the model with its classifier and FD reference, the
 * sampler settings every row uses, and small helpers for masks and tables.
 */
import path from 'node:path';
import { computeTimesteps, parseNoiseSchedule } from '../../../engine/diffusion/index.ts';
import { ModelStore, type Classifier, type SegmentedModel } from '../../../engine/onnx/index.ts';
import type { FrechetReference } from '../../../engine/rewards/index.ts';
import { frechetReferenceFor, modelFilesHash, SEED_RANGES, type EvaluationScorer } from '../../../engine/sampling/evaluate.ts';
import type { ModelHandle } from '../../../engine/sampling/model-handle.ts';
import { createSkipSettings, type SkipConfig } from '../../../engine/skip/index.ts';
import { loadJudge } from '../judge.ts';
import { BENCH_CACHE } from '../workflow-sampling.ts';

/** Tuning seeds: apart from the bench seeds and from the ranges the RL trainer uses. */
export const TUNING_SEED = SEED_RANGES.heldOut + 500_000;

export interface SkipBench {
  store: ModelStore;
  model: SegmentedModel;
  classifier: Classifier;
  reference: FrechetReference;
  /** The independent judge (bench/lib/judge.ts): scores the settings table's rows, never a search. */
  judge?: EvaluationScorer;
  blocks: number;
  classes: number;
  cfg: number;
  sampler: string;
  /** Images per seed set on bench seeds. */
  samples: number;
  cacheDir: string;
  /** The first 12 hex digits of the model files' hash (cache file names). */
  modelHash: string;
  handleFor(config: SkipConfig | null): ModelHandle;
  timestepsFor(steps: number): number[];
}

export async function createSkipBench(options: { models: string; cfg: number; sampler: string; samples: number; judge?: boolean }): Promise<SkipBench> {
  const store = options.models ? new ModelStore(path.resolve(options.models)) : new ModelStore();
  const model = await store.load('fmnist');
  const classifier = await store.classifier('fmnist');
  const reference = await frechetReferenceFor(classifier);
  const schedule = parseNoiseSchedule(model.schedule);
  const blocks = model.blockCount;
  const judge = options.judge ? await loadJudge(model.dir) : undefined;
  return {
    store,
    model,
    classifier,
    reference,
    judge: judge && { classifier: judge.classifier, reference: judge.reference },
    blocks,
    classes: model.classes.length,
    cfg: options.cfg,
    sampler: options.sampler,
    samples: options.samples,
    cacheDir: BENCH_CACHE,
    modelHash: modelFilesHash(model.dir).slice(0, 12),
    handleFor: (config) => ({ name: 'fmnist', model, skip: config ? createSkipSettings(config, blocks) : null }),
    timestepsFor: (steps) => computeTimesteps({ kind: 'trailing' }, steps, schedule),
  };
}

/** A mask row of `blocks` entries, all `ch`. */
export const fullRow = (bench: SkipBench, ch = 'R') => ch.repeat(bench.blocks);

/** Rows that run everything except `ch` at one step and block. */
export function rowsWith(bench: SkipBench, steps: number, step: number, block: number, ch: string): string[] {
  const full = fullRow(bench);
  return Array.from({ length: steps }, (_, s) => (s === step ? full.slice(0, block) + ch + full.slice(block + 1) : full));
}

export const log = (line: string) => process.stderr.write(`${line}\n`);
export const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
