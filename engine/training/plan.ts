import type { Engine } from '../index.ts';
import { formatErrors } from '../graph/errors.ts';
import type { Graph, Prompt } from '../graph/prompt.ts';
import type { Registry } from '../graph/registry.ts';
import { TrainingError } from './errors.ts';
import { rolesByKind, type NodeRole } from './roles.ts';

/** What training found in a workflow, by the roles its nodes declare. */
export interface TrainPlan {
  /** The validated graph. */
  graph: Graph;
  /** The node whose schedule is learned. */
  schedule: NodeRole<'schedule'>;
  /** The sampler it feeds: rollouts sample as it would. */
  sampler: NodeRole<'sampler'>;
  /** The reward learning maximises. */
  reward: NodeRole<'reward'>;
  /** Learnable gates on the sampler's MODEL, learned jointly with the schedule. */
  gates?: NodeRole<'gates'>;
}

/** A validated graph of a workflow (UI or API format), or a TrainingError listing its problems. */
export function validGraph(engine: Engine, prompt: unknown): Graph {
  const validation = engine.validate(prompt);
  if (!validation.ok)
    throw new TrainingError('invalid_workflow', `the workflow does not validate: ${formatErrors(validation.error, validation.nodeErrors).join('; ')}`);
  return validation.graph;
}

/** Finds what training needs in a workflow, or says in one line what is missing. */
export function planTraining(engine: Engine, prompt: Prompt): TrainPlan {
  const graph = validGraph(engine, prompt);
  const roles = rolesByKind(engine.registry, graph);
  if (roles.schedule.length !== 1) {
    throw new TrainingError(
      'not_trainable',
      roles.schedule.length === 0
        ? 'there is nothing to train: no node learns a schedule (a StepScheduler does with spacing "learned")'
        : `${roles.schedule.length} nodes learn a schedule (nodes ${roles.schedule.map(({ id }) => id).join(', ')}); train one at a time`,
    );
  }
  const [schedule] = roles.schedule;
  const samplers = roles.sampler.filter(({ id }) => Object.values(graph.nodes.get(id)!.links).some((link) => link.node === schedule.id));
  if (samplers.length !== 1)
    throw new TrainingError('not_trainable', `the learned schedule (node ${schedule.id}) must feed exactly one sampler (it feeds ${samplers.length})`);
  if (roles.reward.length !== 1)
    throw new TrainingError('not_trainable', `training needs exactly one reward node, e.g. a RewardScorer (found ${roles.reward.length})`);
  const [sampler] = samplers;
  const gates = gatesFeeding(engine.registry, graph, sampler.id, new Map(roles.gates.map((entry) => [entry.id, entry])));
  return { graph, schedule, sampler, reward: roles.reward[0], ...(gates ? { gates } : {}) };
}

/** The first learnable gates up the sampler's MODEL links (LoadModel -> SkipGate -> sampler). */
function gatesFeeding(registry: Registry, graph: Graph, samplerId: string, gates: ReadonlyMap<string, NodeRole<'gates'>>): NodeRole<'gates'> | undefined {
  const seen = new Set<string>();
  for (let id = samplerId; !seen.has(id); ) {
    seen.add(id);
    const node = graph.nodes.get(id)!;
    const model = registry.get(node.type)!.inputs.find((input) => input.type === 'MODEL' && node.links[input.name]);
    if (!model) return undefined;
    id = node.links[model.name].node;
    const found = gates.get(id);
    if (found) return found;
  }
  return undefined;
}
