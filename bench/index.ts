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
  { name: 'machine-peak', measures: "the CPU's peak fp32 and int8 multiply-add rate, from /proc/cpuinfo", cost: 'instant' },
  { name: 'one-shot', measures: 'one-shot `fewstep run` processes: batch split over worker threads or one session', cost: 'minutes' },
  { name: 'int8-block', measures: 'int8 against fp32 per block and whole model; kernel time by operator', cost: 'minutes' },
  { name: 'peer', measures: 'fewstep vs a bare onnxruntime loop vs PyTorch eager, fp32 and int8, batch 1/16/64', cost: 'minutes' },
  { name: 'precision', measures: 'FD and agreement of the int8 model against the fp32 seed-to-seed spread', cost: 'tens of minutes' },
  { name: 'queue', measures: 'per-prompt queue overhead (memory, SQLite, Redis), kill -9 recovery, throughput with workers', cost: 'minutes' },
  { name: 'fuzz', measures: 'hostile requests against a server process: 5xx, crashes, event-loop delay, RSS', cost: 'minutes' },
  {
    name: 'headline',
    measures: 'the 100-step curve vs hand-made and RL-learned 2- and 4-step samplers, on the classifier and the independent judge',
    cost: 'an hour uncached',
  },
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
