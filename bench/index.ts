/**
 * `npm run bench` lists the benchmarks; `npm run bench -- NAME [ARGS...]` runs one (its own
 * flags follow its name). Each prints markdown tables; bench/RESULTS.md holds the figures and
 * the commands that printed them. Evaluations are cached in bench/.cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Every benchmark, cheapest first, with what it measures and roughly what it costs on 2 cores. */
const BENCHES: ReadonlyArray<{ name: string; measures: string; cost: string }> = [
  { name: 'engine', measures: 'validation, conversion and executor overhead on 1,000-node graphs', cost: 'seconds' },
  { name: 'sample-grid', measures: 'writes a grid of samples, one row per class (output/grid.png)', cost: 'seconds' },
  { name: 'speed', measures: 'the engine against a bare loop of the same model calls; 4 vs 100 steps', cost: 'minutes' },
  { name: 'onnx-chain', measures: 'the block chain against full.onnx, per session tuning and batch size', cost: 'minutes' },
  { name: 'onnx-overhead', measures: "where the block chain's extra time goes; the batch split over worker threads", cost: 'minutes' },
  { name: 'quality', measures: 'FD, agreement and confidence of samplers x steps, spacings and guidance scales', cost: 'an hour uncached' },
  { name: 'skip', measures: 'FLOPs saved against FD and agreement for every skip setting; timing; the trade-off plot', cost: 'an hour uncached' },
  { name: 'headline', measures: '100-step baseline vs hand-made and RL-learned 4-step schedules on 1,000 held-out images', cost: 'an hour uncached' },
];

function list(): string {
  const width = Math.max(...BENCHES.map((bench) => bench.name.length));
  return [
    "Benchmarks (npm run bench -- NAME [ARGS...]; each file's header lists its flags):",
    '',
    ...BENCHES.map((bench) => `  ${bench.name.padEnd(width)}  ${bench.measures} (${bench.cost})`),
    '',
    'Figures and the commands that printed them: bench/RESULTS.md. Evaluations are cached in bench/.cache.',
  ].join('\n');
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h' || name === 'list') {
  console.log(list());
} else {
  const file = path.join(import.meta.dirname, `${name}.ts`);
  if (!BENCHES.some((bench) => bench.name === name) || !existsSync(file)) {
    console.error(`bench: no benchmark "${name}"\n\n${list()}`);
    process.exitCode = 2;
  } else {
    const run = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit' });
    process.exitCode = run.status ?? 1;
  }
}
