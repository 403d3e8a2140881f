/**
 * Between nodes' widgets and the policy: where learning starts from what a node saved, and
 * what a node saves from the trained policy.
 */
import type { NoiseSchedule } from '../diffusion/index.ts';
import { encodeSchedule, type DecodedSchedule, type ScheduleSpace } from '../rl/schedule-policy.ts';
import { LEARNED_SCHEDULE_FORMAT, type LearnedSchedule } from '../rl/learned-schedule.ts';
import { gateCount, gateTables, type GateSpace } from '../rl/schedule-task.ts';
import type { TrainerState } from '../rl/trainer.ts';
import type { SamplerChoice } from '../sampling/settings.ts';
import type { StepSchedule } from '../sampling/values.ts';
import type { GateLogits, GatesRole, ScheduleRole } from './roles.ts';

/** Where a gate logit starts when the node saved none: P(run) = sigmoid(3), about 0.95. */
const UNSAVED_GATE_LOGIT = 3;

/**
 * The schedule's start action: the saved policy mean when it was learned in the same action
 * space, else the schedule the node outputs now (learned or hand-made) encoded in this space.
 */
export function scheduleStart(
  role: ScheduleRole,
  schedule: StepSchedule,
  choice: SamplerChoice,
  space: ScheduleSpace,
  noiseSchedule: NoiseSchedule,
): Float64Array {
  const saved = role.learned;
  if (
    saved?.action &&
    saved.space &&
    saved.space.steps === space.steps &&
    saved.space.learnGuidance === space.learnGuidance &&
    saved.space.learnEta === space.learnEta
  ) {
    return Float64Array.from(saved.action);
  }
  return encodeSchedule({ timesteps: schedule.timesteps, guidance: schedule.guidance ?? choice.cfg, eta: schedule.eta ?? choice.eta }, space, noiseSchedule);
}

/** The gate space for a gates node on a model of `blocks` blocks, and the logits it starts from. */
export function gatesStart(role: GatesRole, steps: number, blocks: number, computePenalty: number): { gates: GateSpace; start: number[] } {
  const saved = role.learned;
  const gates: GateSpace = {
    steps,
    blocks,
    withUncond: saved.uncondLogits !== undefined || saved.logits === undefined,
    skipAction: role.skipAction,
    computePenalty,
    ...(role.guidance ? { guidance: role.guidance } : {}),
  };
  const table = (rows: number[][] | undefined) =>
    Array.from({ length: steps * blocks }, (_, k) => rows?.[Math.floor(k / blocks)]?.[k % blocks] ?? UNSAVED_GATE_LOGIT);
  return { gates, start: [...table(saved.logits), ...(gates.withUncond ? table(saved.uncondLogits ?? saved.logits) : [])] };
}

/** The learned schedule as the schedule node saves it: what to run, the action it decodes from and how it was trained. */
export function learnedSchedule(
  decoded: DecodedSchedule,
  space: ScheduleSpace,
  scheduleAction: number[],
  state: TrainerState,
  training: Record<string, unknown>,
): LearnedSchedule {
  const heldOutHistory = state.history.filter((entry) => entry.heldOut !== undefined);
  return {
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
      ...training,
    },
  };
}

/**
 * The gates a gates node saves. Its learned mode runs a block iff its logit >= 0, so the logits
 * keep the signs of the chosen (best held-out) gate bits: it runs exactly what was measured.
 */
export function learnedGates(
  gateLogits: readonly number[],
  bits: readonly number[],
  gates: GateSpace,
): { params: GateLogits; blocksRun: number; blocksTotal: number } {
  const logits = gateLogits.map((logit, k) => (bits[k] === 1 ? 1 : -1) * Math.max(Math.abs(logit), 0.01));
  const rows = (offset: number) =>
    Array.from({ length: gates.steps }, (_, step) =>
      logits.slice(offset + step * gates.blocks, offset + (step + 1) * gates.blocks).map((v) => Number(v.toFixed(3))),
    );
  const params: GateLogits = { logits: rows(0), ...(gates.withUncond ? { uncondLogits: rows(gates.steps * gates.blocks) } : {}) };
  const tables = gateTables(bits, gates);
  const blocksRun = tables.cond.flat().filter((a) => a === 'run').length + (tables.uncond?.flat().filter((a) => a === 'run').length ?? 0);
  return { params, blocksRun, blocksTotal: gateCount(gates) };
}
