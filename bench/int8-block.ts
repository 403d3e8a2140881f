/**
 * Does int8 pay on this CPU, and where does the time go? One block and the whole model, fp32
 * (models/fmnist) against int8 (models/fmnist-int8), each in a one-thread session (what each of
 * the engine's worker threads runs), interleaved rounds; then onnxruntime's own profile of each
 * (kernel time by operator type) at one batch, to split convolution time from everything else.
 *
 *   node --import tsx bench/int8-block.ts [--batches 16,64] [--rounds 9]
 *
 * Batches are model calls: with guidance a batch of B images is one call on 2B rows.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { DEFAULT_MODELS_ROOT } from '../engine/onnx/index.ts';

const { values } = parseArgs({
  options: { batches: { type: 'string', default: '16,32,64,128' }, rounds: { type: 'string', default: '9' }, profile: { type: 'string', default: '32' } },
});
const rounds = Number(values.rounds);
const options = (extra: ort.InferenceSession.SessionOptions = {}): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
  extra: { 'session.intra_op.allow_spinning': '0' },
  ...extra,
});
const files = (name: string) => ({ fp32: path.join(DEFAULT_MODELS_ROOT, 'fmnist', name), int8: path.join(DEFAULT_MODELS_ROOT, 'fmnist-int8', name) });

function randn(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random()));
}
function feedsFor(file: string, batch: number): Record<string, ort.Tensor> {
  if (file.endsWith('block_00.onnx'))
    return { h: new ort.Tensor('float32', randn(batch * 64 * 196), [batch, 64, 14, 14]), emb: new ort.Tensor('float32', randn(batch * 256), [batch, 256]) };
  return {
    x: new ort.Tensor('float32', randn(batch * 784), [batch, 1, 28, 28]),
    t: new ort.Tensor(
      'float32',
      Float32Array.from({ length: batch }, (_, i) => 999 - ((i * 37) % 950)),
      [batch],
    ),
    label: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 11)),
      [batch],
    ),
  };
}
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

console.log(`one-thread sessions, ${rounds} interleaved rounds; load average ${os.loadavg()[0].toFixed(2)} at start`);
console.log('\n| graph | batch (rows per call) | fp32 ms | int8 ms | fp32 / int8 |\n|---|---|---|---|---|');
for (const name of ['block_00.onnx', 'full.onnx']) {
  const { fp32, int8 } = files(name);
  const sessions = [await ort.InferenceSession.create(fp32, options()), await ort.InferenceSession.create(int8, options())];
  for (const batch of values.batches.split(',').map(Number)) {
    const feeds = feedsFor(fp32, batch);
    const reps = Math.max(1, Math.round((name === 'full.onnx' ? 16 : 160) / batch));
    for (const session of sessions) await session.run(feeds);
    const times: number[][] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 ? [1, 0] : [0, 1]) {
        const started = performance.now();
        for (let i = 0; i < reps; i++) await sessions[k].run(feeds);
        times[k].push((performance.now() - started) / reps);
      }
    }
    const ratio = median(times[0].map((v, i) => v / times[1][i]));
    console.log(`| ${name} | ${batch} | ${median(times[0]).toFixed(2)} | ${median(times[1]).toFixed(2)} | ${ratio.toFixed(2)}x |`);
  }
  await Promise.all(sessions.map((s) => s.release()));
}

// Where the time goes: onnxruntime's profile, kernel time summed by operator type.
const batch = Number(values.profile);
console.log(
  `\nKernel time by operator (onnxruntime profile, full.onnx, ${batch} rows, one thread, per run):\n\n| operator | fp32 ms | share | int8 ms | share |\n|---|---|---|---|---|`,
);
const byOp: Record<string, Record<string, number>> = {};
for (const [precision, file] of Object.entries(files('full.onnx'))) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fewstep-prof-'));
  const session = await ort.InferenceSession.create(file, options({ enableProfiling: true, profileFilePrefix: path.join(dir, 'p') }));
  const feeds = feedsFor(file, batch);
  await session.run(feeds);
  for (let i = 0; i < 5; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const events = JSON.parse(readFileSync(path.join(dir, readdirSync(dir)[0]), 'utf8')) as {
    cat: string;
    name: string;
    dur: number;
    args: { op_name: string };
  }[];
  rmSync(dir, { recursive: true, force: true });
  const sums: Record<string, number> = {};
  // the first run (graph warm-up) is in the profile too: 6 runs in all
  for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) sums[e.args.op_name] = (sums[e.args.op_name] ?? 0) + e.dur / 6 / 1000;
  byOp[precision] = sums;
}
const total = (p: string) => Object.values(byOp[p]).reduce((a, b) => a + b, 0);
const conv = (p: string) => (byOp[p].Conv ?? 0) + (byOp[p].QLinearConv ?? 0);
const ops = [...new Set([...Object.keys(byOp.fp32), ...Object.keys(byOp.int8)])].sort(
  (a, b) => (byOp.int8[b] ?? 0) + (byOp.fp32[b] ?? 0) - (byOp.int8[a] ?? 0) - (byOp.fp32[a] ?? 0),
);
const cell = (p: string, op: string) => (byOp[p][op] ? `${byOp[p][op].toFixed(2)} | ${((100 * byOp[p][op]) / total(p)).toFixed(1)}%` : '- | -');
for (const op of ops.slice(0, 14)) console.log(`| ${op} | ${cell('fp32', op)} | ${cell('int8', op)} |`);
console.log(`| **total** | ${total('fp32').toFixed(2)} | | ${total('int8').toFixed(2)} | |`);
const convSpeedup = conv('fp32') / conv('int8');
const rest = (p: string) => total(p) - conv(p);
console.log(
  `\nconvolutions: fp32 ${conv('fp32').toFixed(1)} ms -> int8 ${conv('int8').toFixed(1)} ms (${convSpeedup.toFixed(2)}x); everything else: ${rest('fp32').toFixed(1)} -> ${rest('int8').toFixed(1)} ms.`,
);
console.log(
  `Bound with everything but the convolutions free of quantization costs (fp32 non-conv time kept): ${(total('fp32') / (conv('int8') + rest('fp32'))).toFixed(2)}x; measured ${(total('fp32') / total('int8')).toFixed(2)}x.`,
);
