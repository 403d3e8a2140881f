/**
 * fewstep against its peers, in one run, interleaved: 4 DDIM steps at cfg 2 (the batch doubled
 * for guidance) on the same weights, at several batch sizes, fp32 and int8:
 *  - fewstep: the engine's graph run (LoadModel -> StepScheduler -> FewStepSampler -> PreviewImage),
 *    its model as it runs by default (full.onnx, batch split over worker threads), and the same
 *    with the model in one session in this thread (FEWSTEP_ORT_WORKERS=1);
 *  - bare onnxruntime: one full.onnx session in this thread called in a loop, DDIM math inline;
 *  - torch: PyTorch eager on the same weights (models/recipe/torch_peer.py, a child process
 *    answering timing requests, so its runs interleave with ours and nothing overlaps).
 * Each round runs every measurement once, the order rotated each round; figures are medians, ratios
 * medians of the ratios paired within a round. Fraction of peak: the model's FLOPs (2 x multiply-
 * adds of every Conv/Gemm, from model.json) per second over the machine's peak (bench/machine-peak.ts).
 *
 *   node --import tsx bench/peer.ts [--batches 1,16,64] [--rounds 5] [--int8 fmnist-int8] [--python /usr/bin/python3]
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { createEngine } from '../engine/index.ts';
import { computeTimesteps, parseNoiseSchedule } from '../engine/diffusion/index.ts';
import { bareDdimStep } from './lib/bare-ddim.ts';
import { ModelStore, sessionOptionsFor, DEFAULT_SESSION_TUNING, type SegmentedModel } from '../engine/onnx/index.ts';
import { allNodes } from '../nodes/index.ts';
import { machinePeak } from './machine-peak.ts';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,16,64' },
    rounds: { type: 'string', default: '5' },
    fp32: { type: 'string', default: 'fmnist' },
    int8: { type: 'string', default: 'fmnist-int8' },
    python: { type: 'string', default: '/usr/bin/python3' },
    'torch-threads': { type: 'string', default: '2' },
  },
});
const batches = values.batches.split(',').map(Number);
const rounds = Number(values.rounds);
const steps = 4;
const cfg = 2;
const store = new ModelStore();
const engine = createEngine({ nodes: allNodes, models: store });
// The same engine with the model in one session in this thread (FEWSTEP_ORT_WORKERS=1): which is faster depends on the precision.
const storeOneSession = new ModelStore(store.root, { workers: 1 });
const engineOneSession = createEngine({ nodes: allNodes, models: storeOneSession });
const folders = { output: path.join(os.tmpdir(), 'fewstep-bench'), temp: path.join(os.tmpdir(), 'fewstep-bench'), input: os.tmpdir() };
const precisions = { fp32: values.fp32, int8: values.int8 } as const;
type Precision = keyof typeof precisions;

const models = {} as Record<Precision, SegmentedModel>;
const bare = {} as Record<Precision, ort.InferenceSession>;
for (const [precision, name] of Object.entries(precisions) as [Precision, string][]) {
  models[precision] = await store.load(name);
  await models[precision].startSplit();
  const full = models[precision].manifest.full;
  if (!full) throw new Error(`${name} has no full.onnx`);
  bare[precision] = await ort.InferenceSession.create(path.join(models[precision].dir, full.file), sessionOptionsFor('cpu', DEFAULT_SESSION_TUNING));
}
const schedule = parseNoiseSchedule(models.fp32.schedule);
const timesteps = computeTimesteps({ kind: 'trailing' }, steps, schedule);
const size = 28 * 28;

const graph = (model: string, batch: number, seed: number) => ({
  '1': { class_type: 'LoadModel', inputs: { model_name: model } },
  '2': { class_type: 'ClassLabel', inputs: { label: 'all classes' } },
  '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps, spacing: 'trailing' } },
  '4': { class_type: 'FewStepSampler', inputs: { model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0], seed, batch_size: batch, cfg, sampler: 'ddim' } },
  '5': { class_type: 'PreviewImage', inputs: { images: ['4', 0] } },
});
async function fewstepRun(precision: Precision, batch: number, seed: number, split = true): Promise<void> {
  const result = await (split ? engine : engineOneSession).run(graph(precisions[precision], batch, seed), { folders });
  if (result.status !== 'success') throw new Error(JSON.stringify(result));
}

/** The same DDIM loop over one full.onnx session in this thread. */
async function bareRun(precision: Precision, batch: number): Promise<void> {
  const session = bare[precision];
  let x = Float32Array.from({ length: batch * size }, () => Math.random() * 2 - 1);
  const labels = BigInt64Array.from({ length: 2 * batch }, (_, i) => BigInt(i < batch ? i % 10 : 10));
  for (let s = 0; s < timesteps.length; s++) {
    const doubled = new Float32Array(2 * batch * size);
    doubled.set(x);
    doubled.set(x, batch * size);
    const feeds = {
      x: new ort.Tensor('float32', doubled, [2 * batch, 1, 28, 28]),
      t: new ort.Tensor('float32', new Float32Array(2 * batch).fill(timesteps[s]), [2 * batch]),
      label: new ort.Tensor('int64', labels, [2 * batch]),
    };
    const v = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
    x = bareDdimStep(schedule, timesteps, s, x, v, batch, size, cfg);
  }
}

/** The torch peer: one child process, one request at a time. */
const peerScript = path.resolve(import.meta.dirname, '..', 'models', 'recipe', 'torch_peer.py');
const child = spawn(values.python, [peerScript, '--model-dir', models.fp32.dir, '--threads', values['torch-threads']], {
  stdio: ['pipe', 'pipe', 'inherit'],
  env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
});
const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
async function nextReply(): Promise<Record<string, unknown>> {
  const line = await replies.next();
  if (line.done) throw new Error(`${peerScript} exited (is python3-torch installed? see models/recipe/README.md)`);
  return JSON.parse(line.value) as Record<string, unknown>;
}
const hello = await nextReply();
async function torchRun(batch: number): Promise<number> {
  child.stdin!.write(`${JSON.stringify({ batch, timesteps, cfg })}\n`);
  return (await nextReply()).ms as number;
}

async function timeIt(body: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await body();
  return performance.now() - started;
}
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

type Runner = 'fewstep' | 'fewstep-one-session' | 'bare' | 'torch';
const rows: { batch: number; precision: Precision; runner: Runner }[] = [];
for (const batch of batches) {
  for (const precision of ['fp32', 'int8'] as Precision[])
    for (const runner of ['fewstep', 'fewstep-one-session', 'bare'] as Runner[]) rows.push({ batch, precision, runner });
  rows.push({ batch, precision: 'fp32', runner: 'torch' });
}
const key = (r: { batch: number; precision: Precision; runner: Runner }) => `${r.batch}/${r.precision}/${r.runner}`;
const measure = (r: (typeof rows)[number], round: number): Promise<number> =>
  r.runner === 'torch'
    ? torchRun(r.batch)
    : timeIt(() => (r.runner === 'bare' ? bareRun(r.precision, r.batch) : fewstepRun(r.precision, r.batch, round + 1, r.runner === 'fewstep')));

// Warm-up: every measurement once (sessions' first runs, the engine's caches, torch's allocator).
for (const r of rows) await measure(r, -1);
const times = new Map<string, number[]>(rows.map((r) => [key(r), []]));
const loadBefore = os.loadavg()[0];
for (let round = 0; round < rounds; round++) {
  const rotated = [...rows.slice(round % rows.length), ...rows.slice(0, round % rows.length)];
  for (const r of rotated) times.get(key(r))!.push(await measure(r, round));
  process.stderr.write(`  round ${round + 1}/${rounds}\n`);
}
const loadAfter = os.loadavg()[0];
child.stdin!.end();

const peak = machinePeak();
const flopsPerImage = steps * 2 * (models.fp32.flops.full ?? models.fp32.flops.total);
const pairedRatio = (a: string, b: string) => median(times.get(a)!.map((v, i) => times.get(b)![i] / v));
const out: string[] = [
  `4 DDIM steps, cfg ${cfg} (the batch doubled for guidance), trailing spacing; ${rounds} interleaved rounds, order rotated; ${peak.cores} cores (${peak.model}), load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`,
  `fewstep's engine: ${models.fp32.threads > 1 ? `full.onnx batch split over ${models.fp32.threads} worker threads` : 'sessions in this thread'}; bare onnxruntime: one full.onnx session in this thread (${DEFAULT_SESSION_TUNING.spinning}, ${DEFAULT_SESSION_TUNING.intraOpThreads || 'default'} intra-op threads); torch ${String(hello.torch)} eager, ${String(hello.threads)} threads, fp32 (no int8 torch peer)`,
  `FLOPs per image: ${steps} steps x 2 (guidance) x ${(flopsPerImage / steps / 2 / 1e6).toFixed(2)}M = ${(flopsPerImage / 1e9).toFixed(3)} GFLOP; peak: ${peak.formula}`,
  '',
  '| batch | runner | precision | median ms | images/s | vs fewstep fp32 | vs torch fp32 | vs bare ORT fp32 | % of fp32 peak | % of int8 peak |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of rows) {
  const ms = median(times.get(key(r))!);
  const perSecond = (r.batch * 1000) / ms;
  const achieved = perSecond * flopsPerImage;
  const vsTorch = pairedRatio(key(r), key({ batch: r.batch, precision: 'fp32', runner: 'torch' }));
  const vsFewstep = pairedRatio(key(r), key({ batch: r.batch, precision: 'fp32', runner: 'fewstep' }));
  const vsBare = pairedRatio(key(r), key({ batch: r.batch, precision: 'fp32', runner: 'bare' }));
  const runner = {
    fewstep: 'fewstep engine',
    'fewstep-one-session': 'fewstep engine, one session (WORKERS=1)',
    bare: 'bare onnxruntime loop',
    torch: 'torch eager',
  }[r.runner];
  out.push(
    `| ${r.batch} | ${runner} | ${r.precision} | ${ms.toFixed(1)} | ${perSecond.toFixed(1)} | ${vsFewstep.toFixed(2)}x | ${vsTorch.toFixed(2)}x | ${vsBare.toFixed(2)}x | ${((100 * achieved) / peak.fp32).toFixed(1)}% | ${r.precision === 'int8' ? `${((100 * achieved) / peak.int8).toFixed(1)}%` : '-'} |`,
  );
}
out.push('', 'vs columns: speed relative to that runner (>1 = faster), median of per-round ratios.');
console.log(out.join('\n'));
await Promise.allSettled(Object.values(bare).map((s) => s.release()));
await Promise.all([store.dispose(), storeOneSession.dispose()]);
