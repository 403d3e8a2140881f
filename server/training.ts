import path from 'node:path';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { createEngine, defineNode, type Engine } from '../engine/index.ts';
import { isPromptLink } from '../engine/graph/prompt.ts';
import { computeTimesteps, parseNoiseSchedule } from '../engine/diffusion/index.ts';
import type { ModelStore } from '../engine/onnx/index.ts';
import { FrechetReference, momentsFromArrays, OnnxScorer } from '../engine/rewards/index.ts';
import {
  encodeSchedule, finalAction, initialState, parseLearnedSchedule, train, type LearnedSchedule, type ScheduleSpace, type TrainerState, type TrainProgress,
} from '../engine/rl/index.ts';
import { encodePng } from '../engine/image/png.ts';
import { plotCurves } from '../engine/rl/curve-plot.ts';
import { LEARNED_SCHEDULE_FORMAT } from '../engine/rl/learned-schedule.ts';
import { gateCount, gateTables, scheduleTask, type GateSpace } from '../engine/rl/schedule-task.ts';
import { actionSize } from '../engine/rl/schedule-policy.ts';
import { SEED_RANGES } from '../engine/sampling/evaluate.ts';
import type { ModelHandle } from '../engine/sampling/model-handle.ts';
import { allNodes } from '../nodes/index.ts';
import { rewardWeights } from '../nodes/RewardScorer.ts';
import { LEARNED_START_SPACING } from '../nodes/StepScheduler.ts';
import { UsageError } from './usage-error.ts';

/*
 * Learning a workflow's schedule (and SkipGate's gates) against its RewardScorer: shared by
 * `fewstep train` and the server's POST /train.
 */

/**
 * Every training setting's type, bounds and meaning, once: `fewstep train`'s checks, POST
 * /train's checks and their messages are all read from this schema (resolveTrainSettings).
 */
export const TrainSettingsSchema = Type.Object(
  {
    iterations: Type.Integer({ minimum: 1, maximum: 100_000 }),
    group: Type.Integer({ minimum: 2, maximum: 1024, multipleOf: 2, description: 'schedules per iteration, drawn in mirrored pairs, all on the same seeds' }),
    batch: Type.Integer({ minimum: 2, maximum: 4096, description: 'images per rollout (balanced classes); the FD reward needs at least 2' }),
    heldOut: Type.Integer({ minimum: 2, maximum: 100_000, description: 'images for each held-out FD' }),
    evaluateEvery: Type.Integer({ minimum: 1 }),
    patience: Type.Integer({ minimum: 0 }),
    learningRate: Type.Number({ exclusiveMinimum: 0 }),
    std: Type.Number({ exclusiveMinimum: 0, description: 'exploration noise: std of the Gaussian policy, in action units' }),
    learnGuidance: Type.Boolean(),
    learnEta: Type.Boolean(),
    seed: Type.Integer({ minimum: 0 }),
    maxMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 60, description: 'stop after this many minutes (checked between iterations)' }),
    computePenalty: Type.Number({ minimum: 0, description: 'with a SkipGate in learned mode: reward minus this x (FLOPs used / FLOPs of the full model)' }),
  },
  { additionalProperties: false },
);
export type TrainSettings = Static<typeof TrainSettingsSchema>;
type SettingName = keyof TrainSettings;

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  iterations: 40, group: 8, batch: 64, heldOut: 256, evaluateEvery: 4, patience: 3, learningRate: 0.08, std: 0.25,
  learnGuidance: true, learnEta: false, seed: 0, maxMinutes: 9, computePenalty: 20,
};

interface SettingBounds { type?: string; minimum?: number; exclusiveMinimum?: number; maximum?: number; multipleOf?: number; description?: string }

/** What a setting must be, in words, from its schema: "an even number >= 2 and <= 1024". */
function settingRule(bounds: SettingBounds): string {
  if (bounds.type === 'boolean') return 'true or false';
  const kind = bounds.multipleOf === 2 ? 'an even number' : bounds.type === 'integer' ? 'a whole number' : 'a number';
  const limits = [
    bounds.minimum !== undefined ? `>= ${bounds.minimum}` : undefined,
    bounds.exclusiveMinimum !== undefined ? `> ${bounds.exclusiveMinimum}` : undefined,
    bounds.maximum !== undefined ? `<= ${bounds.maximum}` : undefined,
  ].filter((limit) => limit !== undefined);
  return [kind, limits.join(' and ')].filter(Boolean).join(' ');
}

/**
 * The defaults with `partial` laid over them, checked against TrainSettingsSchema: an impossible
 * setting is a UsageError naming it (`label` turns a field name into what the user typed:
 * `--group` or `settings.group`). `strict` refuses names that are not settings (POST /train);
 * without it they are ignored (the CLI passes its other options along).
 */
export function resolveTrainSettings(
  partial: object,
  label: (field: string) => string = (field) => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  { strict = false }: { strict?: boolean } = {},
): TrainSettings {
  const properties = TrainSettingsSchema.properties as Record<SettingName, SettingBounds>;
  const known = Object.keys(properties);
  const settings: Record<string, unknown> = { ...DEFAULT_TRAIN_SETTINGS };
  for (const [field, value] of Object.entries(partial)) {
    if (!(field in properties)) {
      if (strict) throw new UsageError(`${label(field)}: not a training setting (settings: ${known.join(', ')})`);
      continue;
    }
    if (value === undefined) continue;
    const bounds = properties[field as SettingName];
    if (!Value.Check(TrainSettingsSchema.properties[field as SettingName], value)) {
      throw new UsageError(`${label(field)} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}: must be ${settingRule(bounds)}${bounds.description ? ` (${bounds.description})` : ''}`);
    }
    settings[field] = value;
  }
  return settings as TrainSettings;
}

export type Prompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/** What training found in the workflow: the learned StepScheduler, the sampler it feeds, the reward. */
export interface TrainPlan {
  schedulerId: string;
  samplerId: string;
  scorerId: string;
  steps: number;
  learned: string;
  sampler: string;
  cfg: number;
  eta: number;
  scorer: Record<string, unknown>;
  /** A SkipGate in learned mode feeding the sampler's model: its gates are learned jointly. */
  skipGateId?: string;
}

/** Finds the parts `fewstep train` needs, or says in one line what is missing. */
export function planTraining(prompt: Prompt): TrainPlan {
  const learned = Object.entries(prompt).filter(([, node]) => node.class_type === 'StepScheduler' && node.inputs.spacing === 'learned');
  if (learned.length !== 1) {
    throw new UsageError(learned.length === 0 ? 'no StepScheduler has spacing "learned": there is nothing to train' : `${learned.length} StepSchedulers have spacing "learned" (nodes ${learned.map(([id]) => id).join(', ')}); train one at a time`);
  }
  const [schedulerId, scheduler] = learned[0];
  const samplers = Object.entries(prompt).filter(([, node]) => node.class_type === 'FewStepSampler' && isPromptLink(node.inputs.schedule) && String(node.inputs.schedule[0]) === schedulerId);
  if (samplers.length !== 1) throw new UsageError(`the learned StepScheduler (node ${schedulerId}) must feed exactly one FewStepSampler (it feeds ${samplers.length})`);
  const scorers = Object.entries(prompt).filter(([, node]) => node.class_type === 'RewardScorer');
  if (scorers.length !== 1) throw new UsageError(`training needs exactly one RewardScorer for its reward (found ${scorers.length})`);
  const [samplerId, sampler] = samplers[0];
  // Follow the sampler's model link upstream for a SkipGate in learned mode.
  let skipGateId: string | undefined;
  for (let link = sampler.inputs.model; isPromptLink(link); ) {
    const node = prompt[String(link[0])];
    if (!node) break;
    if (node.class_type === 'SkipGate' && node.inputs.mode === 'learned') {
      skipGateId = String(link[0]);
      break;
    }
    link = node.inputs.model;
  }
  return {
    skipGateId,
    schedulerId,
    samplerId,
    scorerId: scorers[0][0],
    steps: scheduler.inputs.steps as number,
    learned: String(scheduler.inputs.learned ?? ''),
    sampler: sampler.inputs.sampler as string,
    cfg: sampler.inputs.cfg as number,
    eta: sampler.inputs.eta as number,
    scorer: scorers[0][1].inputs,
  };
}

/** The nodes `id` depends on (itself included). */
function ancestors(prompt: Prompt, ids: string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id) || !prompt[id]) return;
    seen.add(id);
    for (const value of Object.values(prompt[id].inputs)) if (isPromptLink(value)) visit(String(value[0]));
  };
  ids.forEach(visit);
  return seen;
}

/**
 * Runs the part of the graph that makes the sampler's model (LoadModel, SkipGate, ...) and hands
 * back the MODEL value itself, so training samples exactly what the workflow would.
 */
export async function resolveModel(engine: Engine, prompt: Prompt, samplerId: string): Promise<ModelHandle> {
  const link = prompt[samplerId].inputs.model;
  if (!isPromptLink(link)) throw new UsageError(`the FewStepSampler (node ${samplerId}) has no model connected`);
  let captured: ModelHandle | undefined;
  const capture = defineNode({
    type: 'TrainModelCapture',
    displayName: 'Train model capture',
    category: 'internal',
    description: 'Hands the MODEL value to fewstep train.',
    inputs: { model: { type: 'MODEL' } },
    outputNode: true,
    deterministic: false,
    widgets: { note: Type.String({ default: '' }) },
    run(_ctx, { model }) {
      captured = model;
      return { outputs: {} };
    },
  });
  const captureEngine = createEngine({ nodes: [...allNodes, capture], models: engine.models });
  const keep = ancestors(prompt, [String(link[0])]);
  const sub: Prompt = Object.fromEntries(Object.entries(prompt).filter(([id]) => keep.has(id)));
  sub.__train_capture = { class_type: 'TrainModelCapture', inputs: { model: link, note: '' } };
  const result = await captureEngine.run(sub, { folders: { output: 'output', input: 'input', temp: 'temp' } });
  if (result.status !== 'success' || !captured) {
    throw new UsageError(`could not load the model: ${result.status === 'failed' ? result.error.message : result.status}`, 1);
  }
  return captured;
}

export interface TrainResult {
  /** The prompt with the learned schedule in the StepScheduler's `learned` widget. */
  prompt: Prompt;
  learned: LearnedSchedule;
  state: TrainerState;
  plan: TrainPlan;
  seconds: number;
  /** The learned gates, when a SkipGate was trained jointly. */
  skipGate?: { params: { logits: number[][]; uncondLogits?: number[][] }; blocksRun: number; blocksTotal: number };
}

/**
 * Trains the workflow's learned StepScheduler against its RewardScorer. Progress goes to
 * `onProgress` ({iteration, reward, heldOutFd}), so a server can forward it as it likes.
 */
export async function trainPrompt(
  setup: { engine: Engine; store: ModelStore },
  prompt: Prompt,
  settings: TrainSettings,
  hooks: { onProgress?: (progress: TrainProgress) => void; onIteration?: (state: TrainerState) => void; resume?: TrainerState; signal?: AbortSignal } = {},
): Promise<TrainResult> {
  const started = performance.now();
  const plan = planTraining(prompt);
  const handle = await resolveModel(setup.engine, prompt, plan.samplerId);
  const classifier = await setup.store.classifier(handle.name);
  const reference = new FrechetReference(momentsFromArrays(await classifier.featureStats()));
  const noiseSchedule = parseNoiseSchedule(handle.model.schedule);
  const etaSampler = plan.sampler === 'ddim' || plan.sampler === 'euler_ancestral';
  const space: ScheduleSpace = { steps: plan.steps, learnGuidance: settings.learnGuidance, learnEta: settings.learnEta && etaSampler };
  const weights = rewardWeights(plan.scorer as never);
  if (weights.confidence === 0 && weights.fd === 0 && weights.jpeg === 0 && weights.onnx === 0) throw new UsageError(`the RewardScorer (node ${plan.scorerId}) has every weight 0: there is no reward to train for`);
  const onnxPath = String(plan.scorer.onnx_path ?? '');
  const scorer = weights.onnx !== 0 ? await OnnxScorer.load(path.resolve(onnxPath), Number(plan.scorer.onnx_input_size)) : undefined;

  // Start from the schedule already learned (same space), else from the hand-made start.
  let start: Float64Array | undefined;
  if (plan.learned.trim() !== '') {
    const parsed = parseLearnedSchedule(plan.learned, plan.steps);
    if (!parsed.ok) throw new UsageError(`node ${plan.schedulerId} learned: ${parsed.message}`);
    const saved = parsed.value;
    if (saved.action && saved.space && saved.space.steps === space.steps && saved.space.learnGuidance === space.learnGuidance && saved.space.learnEta === space.learnEta) {
      start = Float64Array.from(saved.action);
    } else start = encodeSchedule({ timesteps: saved.timesteps, guidance: saved.guidance ?? plan.cfg, eta: saved.eta ?? plan.eta }, space, noiseSchedule);
  }
  start ??= encodeSchedule({ timesteps: computeTimesteps({ kind: LEARNED_START_SPACING }, plan.steps, noiseSchedule), guidance: plan.cfg, eta: plan.eta }, space, noiseSchedule);

  // Joint learning of SkipGate's gates: start from its saved logits, keep its guidance lever.
  let gates: GateSpace | undefined;
  let gateStart: number[] | undefined;
  if (plan.skipGateId) {
    const skipGate = prompt[plan.skipGateId].inputs;
    const saved = JSON.parse(String(skipGate.learned || '{}')) as { logits?: number[][]; uncondLogits?: number[][] };
    const blocks = handle.model.blockCount;
    const uncondPass = String(skipGate.uncond_pass ?? '').replace(/[\s/,;]+/g, '');
    gates = {
      steps: plan.steps, blocks, withUncond: saved.uncondLogits !== undefined || saved.logits === undefined, skipAction: skipGate.action === 'drop' ? 'drop' : 'reuse',
      computePenalty: settings.computePenalty, ...(uncondPass ? { guidance: { uncondPass } } : {}),
    };
    const table = (rows: number[][] | undefined) => Array.from({ length: plan.steps * blocks }, (_, k) => rows?.[Math.floor(k / blocks)]?.[k % blocks] ?? 3);
    gateStart = [...table(saved.logits), ...(gates.withUncond ? table(saved.uncondLogits ?? saved.logits) : [])];
  }
  const task = scheduleTask({
    handle: gates ? { ...handle, skip: null } : handle, classifier, reference, noiseSchedule, space, weights, gates,
    sampler: plan.sampler, cfg: plan.cfg, eta: plan.eta, batch: settings.batch, heldOutSamples: settings.heldOut,
    onnxScore: scorer ? (images) => scorer.score(images) : undefined,
    signal: hooks.signal,
  });
  const state = await train(task, hooks.resume ?? initialState(start, settings.std, settings.seed, gateStart), {
    iterations: settings.iterations, groupSize: settings.group, learningRate: settings.learningRate,
    evaluateEvery: settings.evaluateEvery, patience: settings.patience, maxSeconds: settings.maxMinutes * 60,
  }, { onProgress: hooks.onProgress, onIteration: hooks.onIteration, signal: hooks.signal });
  await scorer?.dispose();

  const action = finalAction(state);
  const decoded = task.decode(action);
  const scheduleAction = action.slice(0, actionSize(space));
  const heldOutHistory = state.history.filter((entry) => entry.heldOut !== undefined);
  const seconds = (performance.now() - started) / 1000;
  const learned: LearnedSchedule = {
    format: LEARNED_SCHEDULE_FORMAT,
    timesteps: decoded.timesteps.map((t) => Number(t.toFixed(3))),
    ...(decoded.guidance ? { guidance: decoded.guidance.map((g) => Number(g.toFixed(4))) } : {}),
    ...(decoded.eta ? { eta: decoded.eta.map((e) => Number(e.toFixed(4))) } : {}),
    space,
    action: scheduleAction,
    training: {
      iterations: state.iteration,
      stopped: state.stopped,
      best_iteration: state.best?.iteration ?? null,
      held_out_fd_start: heldOutHistory[0]?.heldOut ?? null,
      held_out_fd_best: state.best?.heldOut ?? null,
      held_out_samples: settings.heldOut,
      // What the held-out figures above measure (engine/rl/schedule-task.ts heldOutLoss).
      held_out_measure: weights.confidence === 0 ? 'FD' : `${weights.fd} x FD - ${weights.confidence} x confidence`,
      reward_weights: weights,
      sampler: plan.sampler,
      group: settings.group,
      batch: settings.batch,
      learning_rate: settings.learningRate,
      std: settings.std,
      seeds: `training from ${SEED_RANGES.train}, held-out from ${SEED_RANGES.heldOut}`,
      seconds: Number(seconds.toFixed(1)),
    },
  };
  const trained: Prompt = structuredClone(prompt);
  trained[plan.schedulerId].inputs.learned = JSON.stringify(learned);
  let skipGate: TrainResult['skipGate'];
  if (plan.skipGateId && gates && state.policy.gateLogits) {
    // SkipGate's learned mode runs a block iff its logit >= 0: ship the logits with the signs of
    // the chosen (best held-out) gates, so it runs exactly what was measured.
    const bits = action.slice(actionSize(space));
    const logits = state.policy.gateLogits.map((logit, k) => (bits[k] === 1 ? 1 : -1) * Math.max(Math.abs(logit), 0.01));
    const rows = (offset: number) => Array.from({ length: gates.steps }, (_, step) => logits.slice(offset + step * gates.blocks, offset + (step + 1) * gates.blocks).map((v) => Number(v.toFixed(3))));
    const params = { logits: rows(0), ...(gates.withUncond ? { uncondLogits: rows(gates.steps * gates.blocks) } : {}) };
    trained[plan.skipGateId].inputs.learned = JSON.stringify(params);
    const tables = gateTables(bits, gates);
    const used = tables.cond.flat().filter((a) => a === 'run').length + (tables.uncond?.flat().filter((a) => a === 'run').length ?? 0);
    skipGate = { params, blocksRun: used, blocksTotal: gateCount(gates) };
  }
  return { prompt: trained, learned, state, plan, seconds, skipGate };
}


/** The reward curve as a PNG: mean training reward per iteration (blue), minus held-out FD (orange). */
export function rewardCurvePng(state: TrainerState): Buffer {
  const rewards = state.history.filter((h) => h.reward !== null).map((h): [number, number] => [h.iteration, h.reward!]);
  const heldOut = state.history.filter((h) => h.heldOut !== undefined).map((h): [number, number] => [h.iteration, -h.heldOut!]);
  return encodePng(plotCurves([{ points: rewards, color: [0.1, 0.3, 0.8] }, { points: heldOut, color: [0.85, 0.35, 0.1] }]), 0, { description: 'top: mean training reward per iteration; bottom: minus held-out FD' });
}
