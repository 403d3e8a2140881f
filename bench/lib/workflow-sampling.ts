/**
 * Shared bench helpers: the default model with its classifier and FD reference, and "what does
 * this workflow sample with": the MODEL value its FewStepSampler gets (SkipGate settings
 * included), the timesteps its StepScheduler makes (learned ones included), cfg, sampler, eta.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { computeTimesteps, parseNoiseSchedule, type Spacing } from '../../engine/diffusion/index.ts';
import { isPromptLink } from '../../engine/graph/prompt.ts';
import { ModelStore } from '../../engine/onnx/index.ts';
import { parseLearnedSchedule } from '../../engine/rl/index.ts';
import { frechetReferenceFor } from '../../engine/sampling/evaluate.ts';
import type { ModelHandle } from '../../engine/sampling/model-handle.ts';
import { parseTimestepList } from '../../nodes/StepScheduler.ts';
import { resolveModel } from '../../server/training.ts';
import { createFewstepSetup } from '../../server/setup.ts';

export const BENCH_CACHE = path.resolve(import.meta.dirname, '..', '.cache');

export async function benchSetup(modelName = 'fmnist') {
  const store = new ModelStore();
  const setup = createFewstepSetup(store);
  const model = await store.load(modelName);
  const classifier = await store.classifier(modelName);
  const reference = await frechetReferenceFor(classifier);
  const handle: ModelHandle = { name: modelName, model, skip: null };
  return { store, engine: setup.engine, setup, model, classifier, reference, handle, noiseSchedule: parseNoiseSchedule(model.schedule) };
}

type Prompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

export interface SamplingSettings {
  handle: ModelHandle;
  timesteps: number[];
  cfg: number | number[];
  sampler: string;
  samplerOptions: Record<string, unknown>;
  /** The RewardScorer's weights, when the workflow has one. */
  rewardWeights?: { confidence: number; fd: number; jpeg: number; onnx: number };
  learned?: ReturnType<typeof parseLearnedSchedule>;
}

/** Reads a workflow and returns what its (single) FewStepSampler samples with. */
export async function workflowSampling(setup: Awaited<ReturnType<typeof benchSetup>>, file: string): Promise<SamplingSettings> {
  const converted = setup.engine.toPrompt(JSON.parse(readFileSync(file, 'utf8')));
  if (!converted.ok) throw new Error(`${file}: ${converted.errors.join('; ')}`);
  const prompt = converted.prompt as Prompt;
  const samplers = Object.entries(prompt).filter(([, node]) => node.class_type === 'FewStepSampler');
  if (samplers.length !== 1) throw new Error(`${file}: expected one FewStepSampler, found ${samplers.length}`);
  const [samplerId, sampler] = samplers[0];
  const scheduleLink = sampler.inputs.schedule;
  if (!isPromptLink(scheduleLink)) throw new Error(`${file}: the sampler has no schedule connected`);
  const scheduler = prompt[String(scheduleLink[0])].inputs;
  const steps = scheduler.steps as number;
  let timesteps: number[];
  let cfg: number | number[] = sampler.inputs.cfg as number;
  const eta = sampler.inputs.eta as number;
  let samplerOptions: Record<string, unknown> = ['ddim', 'euler_ancestral'].includes(sampler.inputs.sampler as string) ? { eta } : {};
  let learned: SamplingSettings['learned'];
  if (scheduler.spacing === 'learned') {
    learned = parseLearnedSchedule(String(scheduler.learned), steps);
    if (!learned.ok) throw new Error(`${file}: learned schedule ${learned.message}`);
    timesteps = learned.value.timesteps;
    if (learned.value.guidance) cfg = learned.value.guidance;
    if (learned.value.eta && 'eta' in samplerOptions) samplerOptions = { etaPerStep: learned.value.eta };
  } else {
    const spacing = scheduler.spacing as string;
    const config: Spacing = spacing === 'explicit' ? { kind: 'explicit', timesteps: parseTimestepList(String(scheduler.timesteps)) ?? [] } : spacing === 'karras' ? { kind: 'karras', rho: scheduler.rho as number } : ({ kind: spacing } as Spacing);
    timesteps = computeTimesteps(config, steps, setup.noiseSchedule);
  }
  const scorer = Object.values(prompt).find((node) => node.class_type === 'RewardScorer');
  const rewardWeights = scorer
    ? { confidence: scorer.inputs.confidence_weight as number, fd: scorer.inputs.fd_weight as number, jpeg: scorer.inputs.jpeg_weight as number, onnx: scorer.inputs.onnx_weight as number }
    : undefined;
  const handle = await resolveModel(setup.engine, prompt, samplerId);
  return { handle, timesteps, cfg, sampler: sampler.inputs.sampler as string, samplerOptions, rewardWeights, learned };
}

/** A markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}
