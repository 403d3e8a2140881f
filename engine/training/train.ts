/**
 * Learning a workflow's schedule (and its gates, when learnable gates feed the sampler) against
 * its reward, by the roles its nodes declare: the one trainer the CLI, the server (and so the
 * editor's Train button) and the benches use.
 */
import type { Engine } from '../index.ts';
import type { Folders } from '../node.ts';
import type { Prompt } from '../graph/prompt.ts';
import { syncWidgetValues } from '../graph/sync-widgets.ts';
import { looksLikeWorkflow } from '../graph/workflow.ts';
import { parseNoiseSchedule, samplerTakesEta } from '../diffusion/index.ts';
import type { Classifier } from '../onnx/index.ts';
import type { LearnedSchedule } from '../rl/learned-schedule.ts';
import { actionSize, type ScheduleSpace } from '../rl/schedule-policy.ts';
import { scheduleTask, type GateSpace } from '../rl/schedule-task.ts';
import { finalAction, initialState, train, type TrainerState, type TrainProgress } from '../rl/trainer.ts';
import { frechetReferenceFor, SEED_RANGES } from '../sampling/evaluate.ts';
import { TrainingError } from './errors.ts';
import { planTraining, type TrainPlan } from './plan.ts';
import { gatesStart, learnedGates, learnedSchedule, scheduleStart } from './policy-io.ts';
import type { GateLogits } from './roles.ts';
import { samplerInputs } from './sampling.ts';
import type { TrainSettings } from './settings.ts';

/** What the trainer needs besides the workflow: the engine that runs it and the model's classifier (for FD). */
export interface TrainSetup {
  engine: Engine;
  store: { readonly root?: string; classifier(modelName: string): Promise<Classifier> };
}

export interface TrainOptions {
  /** Folders for the nodes that make the sampler's inputs. */
  folders: Folders;
  /** The UI workflow the prompt came from: the learned values are written back into it too. */
  workflow?: unknown;
  /** A saved trainer state to continue from. */
  resume?: TrainerState;
  signal?: AbortSignal;
  /** Per iteration: {iteration, iterations, reward, heldOutFd}, for a progress bar or a websocket. */
  onProgress?: (progress: TrainProgress) => void;
  /** After every iteration, with the whole state (save it to resume). */
  onIteration?: (state: TrainerState) => void;
}

export interface TrainResult {
  /** The prompt with the learned values in the learning nodes' widgets. */
  prompt: Prompt;
  /** The UI workflow with them when one was given, else the prompt. */
  workflow: unknown;
  /** The learned widget values by node id, so an editor can update its graph in place. */
  widgets: Record<string, Record<string, unknown>>;
  learned: LearnedSchedule;
  state: TrainerState;
  plan: TrainPlan;
  seconds: number;
  /** The learned gates, when gates were learned jointly. */
  gates?: { params: GateLogits; blocksRun: number; blocksTotal: number };
}

/** Trains the workflow's learnable schedule (and gates) against its reward. */
export async function trainWorkflow(setup: TrainSetup, prompt: Prompt, settings: TrainSettings, options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const plan = planTraining(setup.engine, prompt);
  const { task, start, space, gates, reward } = await prepareTask(setup, plan, prompt, settings, options);
  const state = await train(
    task,
    options.resume ?? initialState(start.schedule, settings.std, settings.seed, start.gates),
    {
      iterations: settings.iterations,
      groupSize: settings.group,
      learningRate: settings.learningRate,
      evaluateEvery: settings.evaluateEvery,
      patience: settings.patience,
      maxSeconds: settings.maxMinutes * 60,
    },
    { onProgress: options.onProgress, onIteration: options.onIteration, signal: options.signal },
  );

  const action = finalAction(state);
  const seconds = (performance.now() - started) / 1000;
  const learned = learnedSchedule(task.decode(action), space, action.slice(0, actionSize(space)), state, {
    held_out_samples: settings.heldOut,
    reward_weights: reward,
    // What the held-out figures above measure (engine/rl/schedule-task.ts heldOutLoss).
    held_out_measure: reward.confidence === 0 ? 'FD' : `${reward.fd} x FD - ${reward.confidence} x confidence`,
    sampler: plan.sampler.role.sampler,
    group: settings.group,
    batch: settings.batch,
    learning_rate: settings.learningRate,
    std: settings.std,
    seeds: `training from ${SEED_RANGES.train}, held-out from ${SEED_RANGES.heldOut}`,
    seconds: Number(seconds.toFixed(1)),
  });
  const widgets: Record<string, Record<string, unknown>> = { [plan.schedule.id]: plan.schedule.role.save(learned) };
  let learnedGateResult: TrainResult['gates'];
  if (plan.gates && gates && state.policy.gateLogits) {
    learnedGateResult = learnedGates(state.policy.gateLogits, action.slice(actionSize(space)), gates);
    widgets[plan.gates.id] = plan.gates.role.save(learnedGateResult.params);
  }
  const trained: Prompt = structuredClone(prompt);
  for (const [id, values] of Object.entries(widgets)) trained[id].inputs = { ...trained[id].inputs, ...values };
  const workflow = looksLikeWorkflow(options.workflow) ? syncWidgetValues(setup.engine.registry, options.workflow, trained) : trained;
  return { prompt: trained, workflow, widgets, learned, state, plan, seconds, ...(learnedGateResult ? { gates: learnedGateResult } : {}) };
}

/** The policy task the plan describes, with the policy's start and the spaces its action decodes in. */
async function prepareTask(setup: TrainSetup, plan: TrainPlan, prompt: Prompt, settings: TrainSettings, options: TrainOptions) {
  const inputs = await samplerInputs(setup.engine, plan.graph, prompt, plan.sampler, options);
  const { handle, schedule, choice } = inputs;
  const classifier = await setup.store.classifier(handle.name);
  const reference = await frechetReferenceFor(classifier);
  const noiseSchedule = parseNoiseSchedule(handle.model.schedule);
  const space: ScheduleSpace = {
    steps: schedule.timesteps.length,
    learnGuidance: settings.learnGuidance,
    learnEta: settings.learnEta && samplerTakesEta(choice.sampler),
  };
  const { weights, onnxScore } = plan.reward.role;
  if (weights.confidence === 0 && weights.fd === 0 && weights.jpeg === 0 && weights.onnx === 0) {
    throw new TrainingError('not_trainable', `the reward (node ${plan.reward.id}) has every weight 0: there is nothing to train for`);
  }
  const score = weights.onnx !== 0 ? await onnxScore?.(setup.store.root) : undefined;
  if (weights.onnx !== 0 && !score) throw new TrainingError('not_trainable', `the reward (node ${plan.reward.id}) weighs an ONNX scorer it does not have`);

  let gates: GateSpace | undefined;
  let gateStart: number[] | undefined;
  if (plan.gates) ({ gates, start: gateStart } = gatesStart(plan.gates.role, space.steps, handle.model.blockCount, settings.computePenalty));
  const task = scheduleTask({
    handle: gates ? { ...handle, skip: null } : handle,
    classifier,
    reference,
    noiseSchedule,
    space,
    weights,
    gates,
    sampler: choice.sampler,
    cfg: choice.cfg,
    eta: choice.eta,
    batch: settings.batch,
    heldOutSamples: settings.heldOut,
    onnxScore: score,
    signal: options.signal,
  });
  return {
    task,
    space,
    gates,
    reward: weights,
    start: { schedule: scheduleStart(plan.schedule.role, schedule, choice, space, noiseSchedule), gates: gateStart },
  };
}
