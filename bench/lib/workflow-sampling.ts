/**
 * Shared bench helpers: the default model with its classifier and FD reference, and "what does
 * this workflow sample with", asked of the engine's trainer (engine/training), which runs the
 * part of the graph that makes the sampler's MODEL (SkipGate settings included) and SCHEDULE
 * (learned ones included): the benches measure exactly what the workflow and training sample.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEngine } from '../../engine/index.ts';
import { parseNoiseSchedule } from '../../engine/diffusion/index.ts';
import { ModelStore } from '../../engine/onnx/index.ts';
import type { LearnedSchedule } from '../../engine/rl/index.ts';
import type { RewardWeights } from '../../engine/rewards/index.ts';
import { frechetReferenceFor } from '../../engine/sampling/evaluate.ts';
import type { ModelHandle } from '../../engine/sampling/model-handle.ts';
import { workflowSampling as samplingOf } from '../../engine/training/index.ts';
import { allNodes } from '../../nodes/index.ts';

export const BENCH_CACHE = path.resolve(import.meta.dirname, '..', '.cache');

export async function benchSetup(modelName = 'fmnist') {
  const store = new ModelStore();
  const engine = createEngine({ nodes: allNodes, models: store });
  const model = await store.load(modelName);
  const classifier = await store.classifier(modelName);
  const reference = await frechetReferenceFor(classifier);
  const handle: ModelHandle = { name: modelName, model, skip: null };
  return { store, engine, model, classifier, reference, handle, noiseSchedule: parseNoiseSchedule(model.schedule) };
}

export interface SamplingSettings {
  handle: ModelHandle;
  timesteps: number[];
  cfg: number | number[];
  sampler: string;
  samplerOptions: Record<string, unknown>;
  /** The reward node's weights, when the workflow has one. */
  rewardWeights?: RewardWeights;
  /** The schedule learned into the workflow, when it has one. */
  learned?: { ok: true; value: LearnedSchedule };
}

/** Reads a workflow and returns what its (single) sampler samples with. */
export async function workflowSampling(setup: Awaited<ReturnType<typeof benchSetup>>, file: string): Promise<SamplingSettings> {
  const folder = path.join(os.tmpdir(), 'fewstep-bench');
  const sampling = await samplingOf(setup.engine, JSON.parse(readFileSync(file, 'utf8')), { folders: { output: folder, input: folder, temp: folder } });
  return {
    handle: sampling.handle,
    timesteps: [...sampling.timesteps],
    cfg: typeof sampling.cfg === 'number' ? sampling.cfg : [...sampling.cfg],
    sampler: sampling.sampler,
    samplerOptions: sampling.samplerOptions,
    ...(sampling.reward ? { rewardWeights: sampling.reward.weights } : {}),
    ...(sampling.learned ? { learned: { ok: true as const, value: sampling.learned } } : {}),
  };
}

/** A markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}
