/**
 * The node contract's training part: a node declares, from its widget values, what it can learn
 * and how learned values map back to its widgets, or the sampler or reward it stands for
 * (`training` in engine/node.ts). The trainer finds everything it needs by these roles: it reads
 * no widget by name and knows no node type.
 */
import type { Registry } from '../graph/registry.ts';
import type { Graph } from '../graph/prompt.ts';
import type { ImagesLike } from '../rewards/onnx-scorer.ts';
import type { RewardWeights } from '../rewards/reward.ts';
import type { LearnedSchedule } from '../rl/learned-schedule.ts';
import type { SamplerChoice } from '../sampling/settings.ts';
import type { GuidanceConfig } from '../skip/settings.ts';

/** A learnable step schedule: its timesteps, and per-step guidance and eta when asked. */
export interface ScheduleRole {
  readonly kind: 'schedule';
  /** The schedule learned so far; undefined when untrained (learning starts from the schedule the node outputs). */
  readonly learned: LearnedSchedule | undefined;
  /** The widget values that hold a learned schedule. */
  save(learned: LearnedSchedule): Record<string, unknown>;
}

/** Learnable logits of P(run), [step][block], for each half of a guided batch. */
export interface GateLogits {
  logits: number[][];
  uncondLogits?: number[][];
}

/** Learnable run/skip gates per step and block of the MODEL the node passes on. */
export interface GatesRole {
  readonly kind: 'gates';
  /** The logits learned so far (absent: every gate starts likely to run). */
  readonly learned: Partial<GateLogits>;
  /** What a gate that does not run does. */
  readonly skipAction: 'reuse' | 'drop';
  /** The guidance lever, kept as the node sets it while the gates are learned. */
  readonly guidance?: GuidanceConfig;
  /** The widget values that hold learned gates. */
  save(gates: GateLogits): Record<string, unknown>;
}

/** A sampler: the trainer samples with its settings as the node would (engine/sampling/settings.ts). */
export interface SamplerRole extends SamplerChoice {
  readonly kind: 'sampler';
}

/** The reward learning maximises. */
export interface RewardRole {
  readonly kind: 'reward';
  readonly weights: RewardWeights;
  /** The ONNX scorer, when its weight is not 0; its path resolves inside the models folder `modelsRoot`. */
  onnxScore?(modelsRoot: string | undefined): Promise<(images: ImagesLike) => Promise<Float64Array>>;
}

export type TrainingRole = ScheduleRole | GatesRole | SamplerRole | RewardRole;
export type TrainingRoleKind = TrainingRole['kind'];

/** A role with the node that plays it. */
export type NodeRole<K extends TrainingRoleKind> = { id: string; role: Extract<TrainingRole, { kind: K }> };

/**
 * The roles the nodes of a validated graph play, by kind. A node whose widgets are fed by links
 * plays none: its widget values are not known before the graph runs.
 */
export function rolesByKind(registry: Registry, graph: Graph): { [K in TrainingRoleKind]: Array<NodeRole<K>> } {
  const roles = { schedule: [], gates: [], sampler: [], reward: [] } as { [K in TrainingRoleKind]: Array<NodeRole<K>> };
  for (const [id, node] of graph.nodes) {
    const def = registry.get(node.type)!;
    if (!def.spec.training || def.widgets.some((widget) => !(widget.name in node.values))) continue;
    const role = def.spec.training(node.values);
    if (role) (roles[role.kind] as Array<{ id: string; role: TrainingRole }>).push({ id, role });
  }
  return roles;
}
