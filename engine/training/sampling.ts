import type { Engine } from '../index.ts';
import type { Folders } from '../node.ts';
import type { Graph, Prompt } from '../graph/prompt.ts';
import type { SocketType } from '../sockets.ts';
import { nodeInputs } from '../run/node-inputs.ts';
import type { LearnedSchedule } from '../rl/learned-schedule.ts';
import type { ModelHandle } from '../sampling/model-handle.ts';
import { samplingSettings, type SamplerChoice, type SamplingSettings } from '../sampling/settings.ts';
import type { StepSchedule } from '../sampling/values.ts';
import { TrainingError } from './errors.ts';
import { validGraph } from './plan.ts';
import { rolesByKind, type NodeRole, type RewardRole } from './roles.ts';

/** What a workflow's sampler samples with, as the graph makes it. */
export interface SamplerInputs extends SamplingSettings {
  samplerId: string;
  /** The MODEL it gets (SkipGate's settings included). */
  handle: ModelHandle;
  /** The SCHEDULE it gets (a learned one included). */
  schedule: StepSchedule;
  choice: SamplerChoice;
}

export interface SamplerRunOptions {
  /** Folders for the nodes that run (the sampler's inputs are made by running their part of the graph). */
  folders: Folders;
  signal?: AbortSignal;
}

/**
 * Runs the part of the graph a sampler node needs (LoadModel, SkipGate, StepScheduler, ...) and
 * hands back the values it would get, so training and benches sample exactly what the workflow would.
 */
export async function samplerInputs(
  engine: Engine,
  graph: Graph,
  prompt: Prompt,
  sampler: NodeRole<'sampler'>,
  options: SamplerRunOptions,
): Promise<SamplerInputs> {
  const run = await nodeInputs(engine.registry, engine.models, graph, prompt, sampler.id, { folders: options.folders, signal: options.signal });
  if (!run.ok) {
    const { result } = run;
    throw new TrainingError(
      'run_failed',
      `could not make the sampler's inputs (node ${sampler.id}): ${result.status === 'failed' ? result.error.message : result.status}`,
    );
  }
  const def = engine.registry.get(graph.nodes.get(sampler.id)!.type)!;
  const ofType = (type: SocketType) => {
    const input = def.inputs.find((each) => each.type === type);
    if (!input || run.inputs[input.name] === undefined) throw new TrainingError('not_trainable', `the sampler (node ${sampler.id}) has no ${type} connected`);
    return run.inputs[input.name];
  };
  const handle = ofType('MODEL') as ModelHandle;
  const schedule = ofType('SCHEDULE') as StepSchedule;
  const choice: SamplerChoice = { sampler: sampler.role.sampler, cfg: sampler.role.cfg, eta: sampler.role.eta };
  return { samplerId: sampler.id, handle, schedule, choice, ...samplingSettings(schedule, choice) };
}

/**
 * For a workflow with one sampler (a UI workflow or an API prompt): what it samples with, the
 * reward it is scored by and the schedule learned into it, when it has them (for benchmarks).
 */
export async function workflowSampling(
  engine: Engine,
  workflow: unknown,
  options: SamplerRunOptions,
): Promise<SamplerInputs & { reward?: RewardRole; learned?: LearnedSchedule }> {
  const graph = validGraph(engine, workflow);
  const converted = engine.toPrompt(workflow);
  if (!converted.ok) throw new TrainingError('invalid_workflow', converted.errors.join('; '));
  const roles = rolesByKind(engine.registry, graph);
  if (roles.sampler.length !== 1) throw new TrainingError('not_trainable', `expected one sampler, found ${roles.sampler.length}`);
  const inputs = await samplerInputs(engine, graph, converted.prompt, roles.sampler[0], options);
  const learned = roles.schedule.find(({ id }) => Object.values(graph.nodes.get(inputs.samplerId)!.links).some((link) => link.node === id))?.role.learned;
  return { ...inputs, ...(roles.reward[0] ? { reward: roles.reward[0].role } : {}), ...(learned ? { learned } : {}) };
}
