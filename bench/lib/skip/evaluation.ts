/**
 * Measuring skip settings: FD, agreement and FLOPs saved on disjoint seed sets (evaluations
 * cached in bench/.cache), the verdict against the unskipped run's spread, and paired timing.
 */
import { evaluate, SEED_RANGES, type EvaluationResult } from '../../../engine/sampling/evaluate.ts';
import { generate } from '../../../engine/sampling/generate.ts';
import type { SkipConfig } from '../../../engine/skip/index.ts';
import { log, pct, range, TUNING_SEED, type SkipBench } from './context.ts';

export interface Row {
  index: number;
  steps: number;
  name: string;
  config: SkipConfig | null;
  results: EvaluationResult[];
  fd: number;
  agreement: number;
  confidence: number;
  saved: number;
  savedCond: number;
  savedUncond: number;
  /** The judge's figures on the same images (per set, and their means), when the bench has a judge. */
  judge?: { fds: number[]; fd: number; agreements: number[]; agreement: number };
}

export async function flopsSplit(bench: SkipBench, config: SkipConfig | null, steps: number) {
  // One small run gives the exact split (masks and guidance are per-image; the change rule
  // varies by image, so the evaluated fraction is what the table reports for the total).
  const result = await generate({
    handle: bench.handleFor(config),
    labels: range(0, 9),
    seed: TUNING_SEED,
    cfg: bench.cfg,
    sampler: bench.sampler,
    timesteps: bench.timestepsFor(steps),
  });
  return { cond: result.stats.flops_saved_cond_fraction, uncond: result.stats.flops_saved_uncond_fraction };
}

export async function evaluateSetting(
  bench: SkipBench,
  index: number,
  steps: number,
  name: string,
  config: SkipConfig | null,
  sets: number,
  seedBase: number = SEED_RANGES.bench,
  count = bench.samples,
): Promise<Row> {
  const { classifier, reference, cacheDir, cfg, sampler } = bench;
  const results: EvaluationResult[] = [];
  for (let set = 0; set < sets; set++) {
    const result = await evaluate({
      handle: bench.handleFor(config),
      classifier,
      reference,
      cacheDir,
      samples: count,
      seedBase: seedBase + set * count,
      timesteps: bench.timestepsFor(steps),
      cfg,
      sampler,
      alsoScoreWith: bench.judge ? [bench.judge] : [],
    });
    const judged = result.alsoScored[0] ? `, judge FD ${result.alsoScored[0].fd.toFixed(3)} agreement ${pct(result.alsoScored[0].agreement)}` : '';
    log(
      `  ${steps} steps, ${name}, set ${set}: FD ${result.fd.toFixed(3)}, agreement ${pct(result.agreement)}${judged}, saved ${pct(result.flopsSavedFraction)}${result.cached ? ' (cached)' : ` (${result.seconds.toFixed(0)} s)`}`,
    );
    results.push(result);
  }
  const mean = (f: (r: EvaluationResult) => number) => results.reduce((a, r) => a + f(r), 0) / results.length;
  const split = await flopsSplit(bench, config, steps);
  const saved = mean((r) => r.flopsSavedFraction);
  const judged = bench.judge ? results.map((r) => r.alsoScored[0]) : undefined;
  return {
    index,
    steps,
    name,
    config,
    results,
    fd: mean((r) => r.fd),
    agreement: mean((r) => r.agreement),
    confidence: mean((r) => r.meanConfidence),
    saved,
    savedCond: config?.policy.kind === 'change' ? saved - split.uncond : split.cond,
    savedUncond: split.uncond,
    judge: judged && {
      fds: judged.map((j) => j.fd),
      fd: judged.reduce((a, j) => a + j.fd, 0) / judged.length,
      agreements: judged.map((j) => j.agreement),
      agreement: judged.reduce((a, j) => a + j.agreement, 0) / judged.length,
    },
  };
}

/**
 * The issue's bar: FD no worse than the top of the unskipped run's seed-to-seed range (lower is
 * better, so an FD below the range passes) and agreement within 1 point.
 */
export function verdict(fd: number, agreement: number, spreadTop: number, baseAgreement: number): string {
  const fdOk = fd <= spreadTop;
  const agreementOk = agreement >= baseAgreement - 0.01;
  return fdOk && agreementOk ? 'yes' : `no (${[fdOk ? '' : 'FD', agreementOk ? '' : 'agreement'].filter(Boolean).join(', ')})`;
}

export function spreadOf(base: Row) {
  const fds = base.results.map((r) => r.fd);
  const mean = base.fd;
  const std = fds.length > 1 ? Math.sqrt(fds.reduce((a, f) => a + (f - mean) ** 2, 0) / (fds.length - 1)) : NaN;
  return { min: Math.min(...fds), max: Math.max(...fds), std };
}

/** Wall and CPU seconds (all threads of this process) of one 100-image run. */
export async function timeSetting(bench: SkipBench, config: SkipConfig | null, steps: number): Promise<{ wall: number; cpu: number }> {
  const labels = range(0, 99).map((j) => j % bench.classes);
  const started = performance.now();
  const cpu = process.cpuUsage();
  await generate({
    handle: bench.handleFor(config),
    labels,
    seed: SEED_RANGES.bench,
    cfg: bench.cfg,
    sampler: bench.sampler,
    timesteps: bench.timestepsFor(steps),
  });
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
}
