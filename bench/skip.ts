/**
 * Skipping blocks at few steps: what it saves and what it costs, on the default model.
 *
 *   node --import tsx bench/skip.ts [--tables sensitivity,select,search,settings,timing,plot]
 *        [--samples 1000] [--sets 3] [--long-sets 1] [--steps 4,8,20] [--long 'off;tuned;...']
 *        [--probe 40] [--tune 1000] [--budgets 0.18,0.24,0.3] [--start-pass RRRX] [--pass false]
 *        [--reps 4] [--models DIR] [--judge] [--configs FILE.json]
 *
 * sensitivity  per step and block, on tuning seeds: how far the final images' classifier
 *              features move when that one block is dropped (both halves, or only the
 *              unconditional half), shared across halves, or reused, and when the unconditional
 *              pass is skipped or replaced by the last guidance direction.
 * search       measured greedy search from those sensitivities (see searchSettings), its
 *              settings at each FLOP budget checked by FD and agreement on tuning seeds.
 * select       the same greedy without measuring (damages assumed to add; they do not).
 * settings     every named policy and setting on bench seeds (never used for tuning): FLOPs
 *              saved (conditional blocks + guidance half), FD on `sets` disjoint seed sets of
 *              `samples` images (the seed-to-seed spread), classifier agreement and confidence.
 * timing       wall and CPU time saved, measured paired and interleaved with the unskipped run.
 * --judge      the settings table's rows are also scored by the independent judge (a second table).
 * plot         bench/skip-tradeoff.png: FD against FLOPs saved, the unskipped spread shaded.
 *
 * Evaluations are cached in bench/.cache (keyed by the model's files and the setting), so a
 * rerun only computes what changed. The TUNED settings (lib/skip/settings.ts) come from `--tables search`.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSkipBench } from './lib/skip/context.ts';
import { sensitivity, printSensitivity } from './lib/skip/sensitivity.ts';
import { settingsFromFile } from './lib/skip/settings.ts';
import { judgeTable, measureSettings, plotTradeoff, searchTable, selectTable, settingsTable, timingTable, type SettingsChoice } from './lib/skip/tables.ts';

const { values } = parseArgs({
  options: {
    tables: { type: 'string', default: 'settings,timing,plot' },
    samples: { type: 'string', default: '1000' },
    sets: { type: 'string', default: '3' },
    'long-sets': { type: 'string', default: '1' },
    steps: { type: 'string', default: '4,8,20' },
    probe: { type: 'string', default: '64' },
    tune: { type: 'string', default: '500' },
    only: { type: 'string', default: '' },
    cfg: { type: 'string', default: '2' },
    sampler: { type: 'string', default: 'dpmpp_2m' },
    reps: { type: 'string', default: '4' },
    /** Settings (by name) also run at more than 4 steps; 'tuned' means every tuned one. */
    long: { type: 'string', default: 'off;change<0.1 reuse;uncond pass reused (x0) at last quarter;tuned' },
    /** Another models folder (e.g. an intermediate export); default: the repository's models/. */
    models: { type: 'string', default: '' },
    budgets: { type: 'string', default: '0.15,0.2,0.25,0.3,0.35' },
    width: { type: 'string', default: '6' },
    /** Whether the search may skip whole unconditional passes. */
    pass: { type: 'string', default: 'true' },
    /** The unconditional passes the search starts from, e.g. RRRX (default: all run). */
    'start-pass': { type: 'string', default: '' },
    /** Also score the settings table's rows with the independent judge (bench/lib/judge.ts). */
    judge: { type: 'boolean', default: false },
    /** More settings to measure, from a JSON file: [{ name, config, sets? }] (SkipConfig as SkipGate builds it). */
    configs: { type: 'string', default: '' },
  },
});
const tables = values.tables.split(',');
const stepCounts = values.steps.split(',').map(Number);
const budgets = values.budgets.split(',').map(Number);
const bench = await createSkipBench({
  models: values.models,
  cfg: Number(values.cfg),
  sampler: values.sampler,
  samples: Number(values.samples),
  judge: values.judge,
});
const { model, blocks } = bench;
console.log(
  `model fmnist (${bench.modelHash}), ${bench.sampler}, trailing spacing, cfg ${bench.cfg}; ${blocks} blocks of ${(model.flops.blocks[0] / 1e6).toFixed(0)} MFLOPs + embed ${(model.flops.embed / 1e6).toFixed(0)} + head ${(model.flops.head / 1e6).toFixed(0)} per sample`,
);

if (tables.includes('sensitivity') || tables.includes('select') || tables.includes('search')) {
  const probe = Number(values.probe);
  const tune = Number(values.tune);
  for (const steps of stepCounts.filter((s) => s <= 8)) {
    const sens = await sensitivity(bench, steps, probe);
    if (tables.includes('sensitivity')) printSensitivity(bench, sens);
    if (tables.includes('search'))
      console.log(
        await searchTable(bench, sens, steps, budgets, tune, {
          probe,
          width: Number(values.width),
          pass: values.pass !== 'false',
          startPass: values['start-pass'],
        }),
      );
    if (tables.includes('select')) console.log(await selectTable(bench, sens, steps, budgets, tune, probe));
  }
}

const extra = values.configs ? settingsFromFile(values.configs, blocks) : [];
const choice: SettingsChoice = { stepCounts, sets: Number(values.sets), longSets: Number(values['long-sets']), only: values.only, long: values.long, extra };
const rows = tables.includes('settings') || tables.includes('plot') ? await measureSettings(bench, choice) : [];
if (tables.includes('settings')) console.log(settingsTable(bench, rows, stepCounts));
if (tables.includes('settings') && bench.judge) console.log(judgeTable(rows, stepCounts));
if (tables.includes('timing')) console.log(await timingTable(bench, rows, choice, Number(values.reps)));
if (tables.includes('plot') && rows.length > 0) console.log(plotTradeoff(rows, stepCounts, path.resolve(import.meta.dirname, 'skip-tradeoff.png')));

await bench.judge?.classifier.dispose();
await bench.store.dispose();
