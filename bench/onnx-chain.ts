// Block chain (embed -> blocks -> head, one session each) against full.onnx (one session, in this
// thread: no batch split, see bench/speed.ts for that), per
// session tuning and batch size. Runs are interleaved (full, chain, full, chain, ...) and tunings
// alternate in rounds, so a busy machine slows both sides of a ratio alike.
//
//   node --import tsx bench/onnx-chain.ts [--model models/fmnist] [--batches 1,2,4,8,16,32]
//        [--rounds 3] [--iterations 15] [--tunings spin-stop,no-spin,...]
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { DEFAULT_MODELS_ROOT } from '../engine/onnx/model-store.ts';
import { SegmentedModel } from '../engine/onnx/segmented-model.ts';
import { DEFAULT_TUNING_NAME, defaultIntraOpThreads, SESSION_TUNINGS, type SessionTuningName } from '../engine/onnx/session-options.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(DEFAULT_MODELS_ROOT, 'fmnist') },
    batches: { type: 'string', default: '1,2,4,8,16,32' },
    rounds: { type: 'string', default: '3' },
    iterations: { type: 'string', default: '15' },
    tunings: { type: 'string', default: Object.keys(SESSION_TUNINGS).join(',') },
  },
});
const batches = args.batches.split(',').map(Number);
const rounds = Number(args.rounds);
const iterations = Number(args.iterations);
const tuningNames = args.tunings.split(',') as SessionTuningName[];
for (const name of tuningNames) if (!(name in SESSION_TUNINGS)) throw new Error(`unknown tuning ${name}; known: ${Object.keys(SESSION_TUNINGS).join(', ')}`);

const models = new Map<SessionTuningName, SegmentedModel>();
for (const name of tuningNames) models.set(name, await SegmentedModel.load(args.model, { provider: 'cpu', tuning: SESSION_TUNINGS[name], workers: 1 }));
const first = models.get(tuningNames[0])!;
if (!first.hasFull) throw new Error(`${args.model} has no full.onnx to compare against`);
const { channels, height, width } = first.image;

function inputs(batch: number) {
  const x = Float32Array.from({ length: batch * channels * height * width }, (_, i) => Math.sin(i * 12.9898) * 0.9);
  const t = Float32Array.from({ length: batch }, (_, i) => 50 + ((i * 97) % 900));
  const label = Array.from({ length: batch }, (_, i) => i % 11);
  return { x, t, label };
}

// samples[tuning][batch] = per-call milliseconds
const samples = new Map<string, { full: number[]; chain: number[] }>();
const key = (tuning: string, batch: number) => `${tuning}@${batch}`;

async function time(call: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await call();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

for (let round = 0; round < rounds; round++) {
  for (const name of tuningNames) {
    const model = models.get(name)!;
    for (const batch of batches) {
      const { x, t, label } = inputs(batch);
      // Warm-up: first runs at a new shape plan memory and pack weights.
      await model.forwardFull(x, t, label);
      await model.forward(x, t, label);
      const entry = samples.get(key(name, batch)) ?? { full: [], chain: [] };
      for (let i = 0; i < iterations; i++) {
        if (i % 2 === 0) {
          entry.full.push(await time(() => model.forwardFull(x, t, label)));
          entry.chain.push(await time(() => model.forward(x, t, label)));
        } else {
          entry.chain.push(await time(() => model.forward(x, t, label)));
          entry.full.push(await time(() => model.forwardFull(x, t, label)));
        }
      }
      samples.set(key(name, batch), entry);
    }
    await sleep(20); // let this tuning's workers park before the next tuning runs
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

console.log(
  `model ${first.name} (${first.blockCount} blocks), ${defaultIntraOpThreads()} cores, ${rounds} rounds x ${iterations} interleaved calls per cell, median ms per call`,
);
console.log(`default tuning: ${DEFAULT_TUNING_NAME}; chain/full = ratio of medians; paired = median of per-pair ratios;`);
console.log(`"vs best full" = chain median over the fastest full.onnx median of any tuning at that batch\n`);
const header = ['tuning', 'batch', 'full ms', 'chain ms', 'chain/full', 'paired', 'vs best full'];
const rows: string[][] = [];
for (const batch of batches) {
  const bestFull = Math.min(...tuningNames.map((name) => median(samples.get(key(name, batch))!.full)));
  for (const name of tuningNames) {
    const { full, chain } = samples.get(key(name, batch))!;
    const fullMs = median(full);
    const chainMs = median(chain);
    // Paired: each chain call over the full call beside it in time, then the median; steadier
    // than a ratio of medians when the machine's load drifts.
    const paired = median(chain.map((ms, i) => ms / full[i]));
    rows.push([name, String(batch), fullMs.toFixed(2), chainMs.toFixed(2), (chainMs / fullMs).toFixed(3), paired.toFixed(3), (chainMs / bestFull).toFixed(3)]);
  }
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const format = (row: string[]) => row.map((cell, i) => (i < 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
console.log(format(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(format(row));

for (const model of models.values()) await model.dispose();
