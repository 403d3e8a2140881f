import os from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import { executionProvidersFor, type ActiveProvider } from './providers.ts';

/**
 * How a session's intra-op thread pool behaves between and within runs. onnxruntime-node has
 * no global thread pool, so every session owns one; in a chain of sessions run one after the
 * other, pools whose run has ended must not keep spinning against the pool now working.
 *   spin       onnxruntime's default: idle workers busy-wait for work (fast inside one run,
 *              ruinous across a chain: measured 4.5x slower than one session).
 *   no-spin    session.intra_op.allow_spinning=0: workers sleep at once, every parallel
 *              section pays a futex wake-up.
 *   spin-stop  spin inside a run, but session.force_spinning_stop=1 parks the workers as
 *              soon as Run() returns, so only the running session's pool is ever hot.
 */
export type ThreadSpinning = 'spin' | 'no-spin' | 'spin-stop';

export interface SessionTuning {
  /** Intra-op threads per session; 0 lets onnxruntime pick (one per physical core). */
  intraOpThreads: number;
  spinning: ThreadSpinning;
  graphOptimization: 'basic' | 'extended' | 'all';
  /** Memory arena and pattern planning: reuse buffers across runs of the same shapes. */
  memoryReuse: boolean;
}

/** Named tunings the benchmark compares (bench/onnx-chain.ts). */
export const SESSION_TUNINGS = {
  'ort-default': { intraOpThreads: 0, spinning: 'spin', graphOptimization: 'all', memoryReuse: true },
  'no-spin': { intraOpThreads: 0, spinning: 'no-spin', graphOptimization: 'all', memoryReuse: true },
  'spin-stop': { intraOpThreads: 0, spinning: 'spin-stop', graphOptimization: 'all', memoryReuse: true },
  'one-thread': { intraOpThreads: 1, spinning: 'no-spin', graphOptimization: 'all', memoryReuse: true },
} satisfies Record<string, SessionTuning>;
export type SessionTuningName = keyof typeof SESSION_TUNINGS;

/**
 * Default: 'no-spin'. Why, from bench/onnx-chain.ts (models/fmnist, 10 blocks; 2 cores shared
 * with a training job, so every number is noisy; ratios are paired within one run):
 *  - 'ort-default' is unusable for a chain: idle pools spin against the working one (chain
 *    1.2-2.3x its own full, and even full.onnx 7-16x slower than with parked pools).
 *  - 'spin-stop' parks idle pools but still spins inside each run, which loses badly when the
 *    cores are shared (chain 1.1-2.9x full, full itself 2-3x slower than 'no-spin').
 *  - 'no-spin' gave the fastest full.onnx and the fastest chain at batch 2..32 (chain 1.11-1.22x
 *    full); 'one-thread' was close (1.09-1.23x) and best at batch 1.
 * Where the chain's extra ~15-20% goes (profiled with ORT's enableProfiling, 2026-11-27):
 *  - Not onnxruntime itself at batch 1: the block sessions' Run() times add up to full.onnx's
 *    (14.02 vs 14.05 ms, same kernels; the optimised graphs hold the same NCHWc reorders).
 *  - The node binding, at every session boundary: each output is copied into a new JS
 *    ArrayBuffer, i.e. freshly mapped pages. A Neg of h alone costs ~0.07 ms inside ORT and
 *    ~0.5 ms per call from JS at batch 16 (0.22 ms when glibc is told not to mmap, which shows
 *    the page faults). Preallocated outputs (run fetches) do not avoid the copy.
 *  - At batch 16, cache: every session owns an arena, so the chain's activations live in 12
 *    places instead of one reused plan; memory-bound kernels (Add, InstanceNorm, Mul, reorders)
 *    run 20-80% slower in the chain. Without arenas (memoryReuse false) the one-thread chain
 *    falls from 1.16x to 1.10x its own full, but full.onnx itself gets slower; all blocks behind
 *    one If-switch session (one arena, one pool) gave 1.12x instead of 1.16x.
 * What would remove the rest is not in onnxruntime-node's API: a global thread pool and a
 * shared allocator (C API CreateEnvWithGlobalThreadPools / CreateAndRegisterAllocator), or
 * outputs written into caller-owned CPU buffers without a copy.
 * 'one-thread' is the pick where the cores are busy with other work (FEWSTEP_ORT_TUNING).
 */
export const DEFAULT_TUNING_NAME: SessionTuningName = 'no-spin';
export const DEFAULT_SESSION_TUNING: SessionTuning = SESSION_TUNINGS[DEFAULT_TUNING_NAME];

/** The tuning named by FEWSTEP_ORT_TUNING, else the default. */
export function sessionTuningFromEnv(env: NodeJS.ProcessEnv = process.env): SessionTuning {
  const name = env.FEWSTEP_ORT_TUNING?.trim();
  if (name && name in SESSION_TUNINGS) return SESSION_TUNINGS[name as SessionTuningName];
  return DEFAULT_SESSION_TUNING;
}

/** Threads onnxruntime would pick by itself, shown in bench output. */
export function defaultIntraOpThreads(): number {
  return Math.max(1, os.availableParallelism());
}

export function sessionOptionsFor(provider: ActiveProvider, tuning: SessionTuning = sessionTuningFromEnv()): InferenceSession.SessionOptions {
  // Config keys from onnxruntime_session_options_config_keys.h; the node binding takes them
  // as flat string entries in `extra`.
  const extra: Record<string, string> = {};
  if (tuning.spinning === 'no-spin') extra['session.intra_op.allow_spinning'] = '0';
  if (tuning.spinning === 'spin-stop') extra['session.force_spinning_stop'] = '1';
  extra['session.inter_op.allow_spinning'] = '0';
  return {
    executionProviders: executionProvidersFor(provider),
    ...(tuning.intraOpThreads > 0 ? { intraOpNumThreads: tuning.intraOpThreads } : {}),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: tuning.graphOptimization,
    enableCpuMemArena: tuning.memoryReuse,
    enableMemPattern: tuning.memoryReuse,
    logSeverityLevel: 3,
    extra,
  };
}
