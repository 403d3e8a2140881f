/** The tables bench/skip.ts prints (and its trade-off plot), each from its measurements. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodePng } from '../../../engine/image/png.ts';
import { SEED_RANGES } from '../../../engine/sampling/evaluate.ts';
import type { SkipConfig } from '../../../engine/skip/index.ts';
import { drawScatter, type PlotPoint } from './plot.ts';
import { log, median, pct, TUNING_SEED, type SkipBench } from './context.ts';
import { evaluateSetting, flopsSplit, spreadOf, timeSetting, verdict, type Row } from './evaluation.ts';
import { greedySetting, searchSettings, type SearchOptions, type SearchTrajectory } from './search.ts';
import { meanDistance, probeFeatures, type Sensitivity } from './sensitivity.ts';
import { namedSettings, type NamedSetting, runsLong, TUNED, WIDE } from './settings.ts';

const HEADER_TUNING = '| budget | FLOPs saved | paired distance | FD | agreement | mask | uncond mask | uncond pass |';
const RULE_TUNING = '|---|---|---|---|---|---|---|---|';

/** A setting's mask columns: mask, uncond mask, uncond pass. */
const maskColumns = (config: SkipConfig) =>
  `${config.policy.kind === 'mask' ? config.policy.rows.join('/') : ''} | ${config.guidance?.uncondRows?.join('/') ?? ''} | ${config.guidance?.uncondPass ?? ''}`;

/** The unskipped row on `tune` tuning images (none when tune is 0). */
async function tuningBase(bench: SkipBench, steps: number, tune: number): Promise<string> {
  const base = tune > 0 ? await evaluateSetting(bench, 0, steps, 'off (tuning)', null, 1, TUNING_SEED, tune) : undefined;
  return `| 0 | 0.0% | 0 | ${base?.fd.toFixed(3) ?? '-'} | ${base ? pct(base.agreement) : '-'} | - | - | - |`;
}

/** The measured greedy search's settings at each FLOP budget, checked by FD and agreement on tuning seeds. */
export async function searchTable(
  bench: SkipBench,
  sens: Sensitivity,
  steps: number,
  budgets: number[],
  tune: number,
  options: SearchOptions,
): Promise<string> {
  const file = path.join(
    bench.cacheDir,
    `skip-search-${bench.modelHash}-${steps}-${options.probe}-${options.width}-${options.pass}-${options.startPass}-${bench.cfg}-${bench.sampler}.json`,
  );
  const trajectory: SearchTrajectory = existsSync(file)
    ? JSON.parse(readFileSync(file, 'utf8'))
    : await searchSettings(bench, sens, steps, Math.max(...budgets) + 0.02, options);
  writeFileSync(file, JSON.stringify(trajectory));
  const from = options.startPass ? `, starting from unconditional passes ${options.startPass}` : '';
  const lines = [
    '',
    `Measured greedy search at ${steps} steps (tuning seeds, ${options.probe} probe images, ${options.width} tries per move${from}${options.pass ? '' : ', whole unconditional passes never skipped'}); FD and agreement on ${tune} tuning images:`,
    '',
    HEADER_TUNING,
    RULE_TUNING,
  ];
  lines.push(await tuningBase(bench, steps, tune));
  for (const budget of budgets) {
    const point = trajectory.find((p) => p.saved >= budget - 1e-9);
    if (!point) continue;
    const name = `search ${budget}${options.pass ? '' : ' no-pass'}${options.startPass ? ` from ${options.startPass}` : ''} (tuning)`;
    const row = tune > 0 ? await evaluateSetting(bench, 0, steps, name, point.config, 1, TUNING_SEED, tune) : undefined;
    lines.push(
      `| ${budget} | ${pct(point.saved)} | ${point.distance.toFixed(3)} | ${row?.fd.toFixed(3) ?? '-'} | ${row ? pct(row.agreement) : '-'} | ${maskColumns(point.config)} |`,
    );
    log(lines[lines.length - 1]);
  }
  return lines.join('\n');
}

/** The greedy selection's settings (damages assumed to add), measured paired and on tuning seeds. */
export async function selectTable(bench: SkipBench, sens: Sensitivity, steps: number, budgets: number[], tune: number, probe: number): Promise<string> {
  const baseFeatures = await probeFeatures(bench, null, steps, probe);
  const lines = [
    '',
    `Greedy settings at ${steps} steps (tuning seeds): paired feature distance to the unskipped images (${probe} images; the sum of single-entry damages the greedy assumed), FD and agreement on ${tune} images.`,
    '',
    '| budget | FLOPs saved | paired distance (assumed) | FD | agreement | mask | uncond mask | uncond pass |',
    RULE_TUNING,
  ];
  lines.push(await tuningBase(bench, steps, tune));
  for (const budget of budgets) {
    for (const allowPass of [true, false]) {
      const { config, assumed } = greedySetting(bench, sens, budget, allowPass);
      const paired = meanDistance(await probeFeatures(bench, config, steps, probe), baseFeatures, probe);
      const row =
        tune > 0 ? await evaluateSetting(bench, 0, steps, `greedy ${budget}${allowPass ? '' : ' no-pass'} (tuning)`, config, 1, TUNING_SEED, tune) : undefined;
      const saved = row?.saved ?? (await flopsSplit(bench, config, steps));
      const savedText = typeof saved === 'number' ? pct(saved) : pct(saved.cond + saved.uncond);
      lines.push(
        `| ${budget}${allowPass ? '' : ' (uncond pass kept)'} | ${savedText} | ${paired.toFixed(2)} (${assumed.toFixed(2)}) | ${row?.fd.toFixed(3) ?? '-'} | ${row ? pct(row.agreement) : '-'} | ${maskColumns(config)} |`,
      );
      log(lines[lines.length - 1]);
    }
  }
  return lines.join('\n');
}

/** Which named settings run at each step count, and on how many seed sets. */
export interface SettingsChoice {
  stepCounts: number[];
  /** Seed sets at 4 steps or fewer, and at more. */
  sets: number;
  longSets: number;
  /** --only and --long, as typed. */
  only: string;
  long: string;
  /** Settings from --configs. */
  extra?: readonly NamedSetting[];
}

/** Every named setting on bench seeds (never used for tuning). */
export async function measureSettings(bench: SkipBench, choice: SettingsChoice): Promise<Row[]> {
  const rows: Row[] = [];
  let index = 0;
  for (const steps of choice.stepCounts) {
    const sets = steps <= 4 ? choice.sets : choice.longSets;
    const settings = namedSettings(bench, steps, choice.only, choice.extra).filter((s) => steps <= 4 || runsLong(choice.long, s.name, steps));
    const setsOf = (name: string) => {
      const extra = choice.extra?.find((e) => e.name === name)?.sets;
      if (extra !== undefined) return Math.min(sets, extra);
      return name === 'off' || [...TUNED, ...WIDE].some((t) => t.name === name) ? sets : Math.min(sets, 1);
    };
    for (const { name, config } of settings) rows.push(await evaluateSetting(bench, ++index, steps, name, config, setsOf(name)));
  }
  return rows;
}

/** FLOPs saved, FD against the unskipped run's seed-to-seed spread, agreement, confidence and the verdict. */
export function settingsTable(bench: SkipBench, rows: Row[], stepCounts: number[]): string {
  const lines = [
    '',
    `Bench seeds from ${SEED_RANGES.bench}, ${bench.samples} images per seed set; FD of each set against the test split (spread: min..max and std over disjoint seed sets of the unskipped run). FLOPs saved = of the full guided run; cond = blocks of the conditional half, uncond = the guidance half.`,
    '',
  ];
  lines.push(
    '| # | steps | setting | FLOPs saved (cond + uncond) | FD (per set) | FD - unskipped | agreement | - unskipped | confidence | quality kept |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const steps of stepCounts) {
    const base = rows.find((r) => r.steps === steps && r.name === 'off')!;
    const spread = spreadOf(base);
    for (const row of rows.filter((r) => r.steps === steps)) {
      // Compare on the seed sets both have, so seed-to-seed variation cancels.
      const shared = row.results.length;
      const baseFd = base.results.slice(0, shared).reduce((a, r) => a + r.fd, 0) / shared;
      const baseAgreement = base.results.slice(0, shared).reduce((a, r) => a + r.agreement, 0) / shared;
      const off = row.name === 'off';
      const fdDelta = off
        ? `spread ${spread.min.toFixed(2)}..${spread.max.toFixed(2)}, std ${spread.std.toFixed(3)}`
        : (row.fd - baseFd >= 0 ? '+' : '') + (row.fd - baseFd).toFixed(3);
      lines.push(
        `| ${row.index} | ${steps} | ${row.name} | ${pct(row.saved)} (${pct(row.savedCond)} + ${pct(row.savedUncond)}) | ${row.fd.toFixed(3)} (${row.results.map((r) => r.fd.toFixed(2)).join(', ')}) | ${fdDelta} | ${pct(row.agreement)} | ${off ? '' : `${((row.agreement - baseAgreement) * 100).toFixed(2)} pt`} | ${row.confidence.toFixed(3)} | ${off ? '' : verdict(row.fd, row.agreement, spread.max, baseAgreement)} |`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * The same rows on the independent judge: its FD per seed set against the unskipped run's judge
 * spread, its agreement, and the verdict on both networks (the bar is met only when both say yes).
 */
export function judgeTable(rows: Row[], stepCounts: number[]): string {
  const lines = [
    '',
    'The same images on the independent judge (models/fmnist/judge.onnx; no search or pick uses it). Kept = FD at most the top of the unskipped run\'s spread and agreement within 1 pt of it, on the judge; "both" = kept on the judge and on the model\'s classifier.',
    '',
    '| # | steps | setting | FLOPs saved | judge FD (per set) | - unskipped | judge agreement (per set) | - unskipped | kept (judge) | kept (both) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const fmt = (xs: number[], f: (x: number) => string) => xs.map(f).join(', ');
  for (const steps of stepCounts) {
    const base = rows.find((r) => r.steps === steps && r.name === 'off');
    if (!base?.judge) continue;
    const judgeSpread = { min: Math.min(...base.judge.fds), max: Math.max(...base.judge.fds) };
    const classifierSpread = spreadOf(base);
    for (const row of rows.filter((r) => r.steps === steps && r.judge)) {
      const judge = row.judge!;
      const shared = judge.fds.length;
      const baseFd = base.judge.fds.slice(0, shared).reduce((a, f) => a + f, 0) / shared;
      const baseAgreement = base.judge.agreements.slice(0, shared).reduce((a, f) => a + f, 0) / shared;
      const classifierAgreement = base.results.slice(0, row.results.length).reduce((a, r) => a + r.agreement, 0) / row.results.length;
      const off = row.name === 'off';
      const judged = verdict(judge.fd, judge.agreement, judgeSpread.max, baseAgreement);
      const both = judged === 'yes' && verdict(row.fd, row.agreement, classifierSpread.max, classifierAgreement) === 'yes' ? 'yes' : 'no';
      lines.push(
        `| ${row.index} | ${steps} | ${row.name} | ${pct(row.saved)} | ${judge.fd.toFixed(3)} (${fmt(judge.fds, (f) => f.toFixed(3))}) | ${off ? `spread ${judgeSpread.min.toFixed(3)}..${judgeSpread.max.toFixed(3)}` : (judge.fd - baseFd >= 0 ? '+' : '') + (judge.fd - baseFd).toFixed(3)} | ${pct(judge.agreement)} (${fmt(judge.agreements, pct)}) | ${off ? '' : `${((judge.agreement - baseAgreement) * 100).toFixed(2)} pt`} | ${off ? '' : judged} | ${off ? '' : both} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Wall and CPU time saved, paired and interleaved with the unskipped run. */
export async function timingTable(bench: SkipBench, rows: Row[], choice: SettingsChoice, reps: number): Promise<string> {
  const lines = [
    '',
    `Time, 100 images per call, ${reps} calls each, interleaved with the unskipped run (medians; same process, same machine, ${os.cpus().length} cores). CPU time counts every thread of the process, so it is less sensitive to other load on the machine than wall time.`,
    '',
    '| steps | setting | FLOPs saved | unskipped wall s | setting wall s | wall time saved | CPU time saved |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const steps of choice.stepCounts) {
    for (const { name, config } of namedSettings(bench, steps, choice.only, choice.extra).filter(
      (s) => s.name !== 'off' && (steps <= 4 || runsLong(choice.long, s.name, steps)),
    )) {
      const base: Array<{ wall: number; cpu: number }> = [];
      const skip: Array<{ wall: number; cpu: number }> = [];
      await timeSetting(bench, config, steps);
      for (let r = 0; r < reps; r++) {
        base.push(await timeSetting(bench, null, steps));
        skip.push(await timeSetting(bench, config, steps));
      }
      const flops = rows.find((row) => row.steps === steps && row.name === name)?.saved;
      const [bw, sw, bc, sc] = [
        median(base.map((t) => t.wall)),
        median(skip.map((t) => t.wall)),
        median(base.map((t) => t.cpu)),
        median(skip.map((t) => t.cpu)),
      ];
      lines.push(
        `| ${steps} | ${name} | ${flops === undefined ? '-' : pct(flops)} | ${bw.toFixed(2)} | ${sw.toFixed(2)} | ${pct(1 - sw / bw)} | ${pct(1 - sc / bc)} |`,
      );
      log(`  timing ${steps} ${name}: wall ${bw.toFixed(2)} vs ${sw.toFixed(2)}, cpu ${bc.toFixed(2)} vs ${sc.toFixed(2)}`);
    }
  }
  return lines.join('\n');
}

/** FD against FLOPs saved, the unskipped spread shaded; written to `file`. */
export function plotTradeoff(rows: Row[], stepCounts: number[], file: string): string {
  const points: PlotPoint[] = rows.map((r) => ({ x: r.saved * 100, y: r.fd, label: String(r.index), series: stepCounts.indexOf(r.steps) }));
  const bands = stepCounts.map((steps, series) => {
    const spread = spreadOf(rows.find((r) => r.steps === steps && r.name === 'off')!);
    return { series, low: spread.min, high: spread.max };
  });
  const yClip = 1.5 * Math.max(...bands.map((b) => b.high));
  const image = drawScatter({
    title: 'SKIP: FD VS FLOPS SAVED',
    xLabel: 'FLOPS SAVED %',
    yLabel: 'FD',
    points,
    bands,
    yClip,
    seriesNames: stepCounts.map((s) => `${s} STEPS`),
  });
  writeFileSync(file, encodePng(image));
  return `\nPlot: ${path.relative(process.cwd(), file)} (x: FLOPs saved %, y: FD; numbers are the table's rows; shaded: the unskipped run's FD range over seed sets)`;
}
