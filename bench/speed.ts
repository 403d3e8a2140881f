/**
 * Speed of the engine against the bare minimum, measured in one run, interleaved:
 *  - the engine's 4-step graph run (LoadModel -> StepScheduler -> FewStepSampler -> PreviewImage)
 *    vs a bare loop of the same model calls doing the same work (same batch, same guidance; DDIM
 *    math inline), for both ways the engine can run the model: full.onnx (its default when no
 *    block is skipped) and the block chain (FEWSTEP_BLOCK_CHAIN=1, or any SkipGate);
 *  - the engine's model (by default its batch split over worker threads) and the block chain in
 *    this thread, against a bare loop of one full.onnx session in this thread;
 *  - 4-step vs 100-step wall time on the same batch.
 * `node --import tsx bench/speed.ts [batch] [rounds]`
 */
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { createEngine } from '../engine/index.ts';
import { loadManifest, ModelStore } from '../engine/onnx/index.ts';
import { sessionOptionsFor, DEFAULT_SESSION_TUNING } from '../engine/onnx/session-options.ts';
import { computeTimesteps, parseNoiseSchedule } from '../engine/diffusion/index.ts';
import { bareDdimStep } from './lib/bare-ddim.ts';
import { DEFAULT_MODELS_ROOT } from '../engine/onnx/model-store.ts';
import { allNodes } from '../nodes/index.ts';

const batch = Number(process.argv[2] ?? 16);
const rounds = Number(process.argv[3] ?? 5);
const cfg = 2;
const dir = path.join(DEFAULT_MODELS_ROOT, 'fmnist');
const manifest = await loadManifest(dir);
const schedule = parseNoiseSchedule(manifest.schedule);
const store = new ModelStore();
const engine = createEngine({ nodes: allNodes, models: store });
const folders = { output: path.join(os.tmpdir(), 'fewstep-bench'), temp: path.join(os.tmpdir(), 'fewstep-bench'), input: os.tmpdir() };

const graph = (steps: number, seed: number) => ({
  '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist' } },
  '2': { class_type: 'ClassLabel', inputs: { label: 'all classes' } },
  '3': { class_type: 'StepScheduler', inputs: { model: ['1', 0], steps, spacing: 'trailing' } },
  '4': { class_type: 'FewStepSampler', inputs: { model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0], seed, batch_size: batch, cfg, sampler: 'ddim' } },
  '5': { class_type: 'PreviewImage', inputs: { images: ['4', 0] } },
});

// The bare loops: sessions created here by hand (the segments, and full.onnx), called in order.
const options = sessionOptionsFor('cpu', DEFAULT_SESSION_TUNING);
const sessions: ort.InferenceSession[] = [];
for (const segment of manifest.segments) sessions.push(await ort.InferenceSession.create(path.join(dir, segment.file), options));
if (!manifest.full) throw new Error(`${dir} has no full.onnx`);
const fullSession = await ort.InferenceSession.create(path.join(dir, manifest.full.file), options);
const size = manifest.image.channels * manifest.image.height * manifest.image.width;
/**
 * `via` 'sessions': this thread's sessions above; 'model': the engine's own SegmentedModel
 * (batch split over worker threads by default), called directly with nothing of the engine around.
 */
async function bareLoop(steps: number, whole: boolean, via: 'sessions' | 'model' = 'sessions'): Promise<Float32Array> {
  const timesteps = computeTimesteps({ kind: 'trailing' }, steps, schedule);
  let x = Float32Array.from({ length: batch * size }, () => Math.random() * 2 - 1);
  const labels = BigInt64Array.from({ length: 2 * batch }, (_, i) => BigInt(i < batch ? i % 10 : manifest.nullClass!));
  for (let s = 0; s < timesteps.length; s++) {
    const doubled = new Float32Array(2 * batch * size);
    doubled.set(x);
    doubled.set(x, batch * size);
    const xt = new ort.Tensor('float32', doubled, [2 * batch, 1, 28, 28]);
    const feeds = {
      x: xt,
      t: new ort.Tensor('float32', new Float32Array(2 * batch).fill(timesteps[s]), [2 * batch]),
      label: new ort.Tensor('int64', labels, [2 * batch]),
    };
    let v: Float32Array;
    if (via === 'model')
      v = whole ? await model.forwardFull(doubled, feeds.t.data as Float32Array, labels) : await model.forward(doubled, feeds.t.data as Float32Array, labels);
    else if (whole) v = (await fullSession.run(feeds))[fullSession.outputNames[0]].data as Float32Array;
    else {
      const embedded = await sessions[0].run(feeds);
      let h = embedded.h;
      for (const block of sessions.slice(1, -1)) h = (await block.run({ h, emb: embedded.emb })).h_out;
      v = (await sessions.at(-1)!.run({ h, emb: embedded.emb, x: xt })).out.data as Float32Array;
    }
    x = bareDdimStep(schedule, timesteps, s, x, v, batch, size, cfg);
  }
  return x;
}

async function timeIt(body: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await body();
  return performance.now() - started;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const model = await store.load('fmnist');
const engineRun = async (steps: number, seed: number, whole: boolean) => {
  model.preferFull = whole;
  const result = await engine.run(graph(steps, seed), { folders });
  if (result.status !== 'success') throw new Error(JSON.stringify(result));
};
// Worker threads start after a second of whole-model work; start them before anything is timed.
await model.startSplit();
for (const whole of [true, false]) {
  await engineRun(4, 0, whole);
  await bareLoop(4, whole);
  await bareLoop(4, whole, 'model');
}
const times = {
  engineFull: [] as number[],
  bareFull: [] as number[],
  modelFull: [] as number[],
  engineChain: [] as number[],
  bareChain: [] as number[],
  modelChain: [] as number[],
};
const ratios = { modelFull: [] as number[], engineFull: [] as number[], modelChain: [] as number[], engineChain: [] as number[], chain: [] as number[] };
// Each round runs the six measurements in a different order (rotated by one each round), so what
// a measurement follows (idle workers after a main-thread run, a collection left by the one
// before) is spread over all of them instead of always landing on the same one.
const measurements = (r: number) => ({
  ef: () => engineRun(4, r + 1, true),
  bf: () => bareLoop(4, true),
  mf: () => bareLoop(4, true, 'model'),
  ec: () => engineRun(4, r + 1, false),
  bc: () => bareLoop(4, false),
  mc: () => bareLoop(4, false, 'model'),
});
for (let r = 0; r < rounds; r++) {
  const entries = Object.entries(measurements(r));
  const rotated = [...entries.slice(r % entries.length), ...entries.slice(0, r % entries.length)];
  const took: Record<string, number> = {};
  for (const [name, body] of rotated) took[name] = await timeIt(body);
  const { ef, bf, mf, ec, bc, mc } = took;
  times.engineFull.push(ef);
  times.bareFull.push(bf);
  times.modelFull.push(mf);
  times.engineChain.push(ec);
  times.bareChain.push(bc);
  times.modelChain.push(mc);
  ratios.modelFull.push(mf / bf);
  ratios.engineFull.push(ef / mf);
  ratios.modelChain.push(mc / bf);
  ratios.engineChain.push(ec / mc);
  ratios.chain.push(bc / bf);
}
const long: number[] = [];
for (let r = 0; r < Math.max(1, Math.floor(rounds / 3)); r++) long.push(await timeIt(() => engineRun(100, 100 + r, true)));
model.preferFull = true;

const split = model.threads > 1 ? `batch split over ${model.threads} worker threads` : 'sessions in this thread (FEWSTEP_ORT_WORKERS=1)';
console.log(
  `batch ${batch}, cfg ${cfg} (doubled batch), ddim, trailing; ${rounds} interleaved rounds (order rotated each round); ${os.cpus().length} cores; the engine's model: ${split}`,
);
console.log('| measure | median ms | ratio (median of paired ratios) |');
console.log('|---|---|---|');
console.log(`| bare loop, one full.onnx session in this thread, 4 steps | ${median(times.bareFull).toFixed(1)} | 1.00 |`);
console.log(
  `| bare loop, the engine's model: full.onnx (${split}), 4 steps | ${median(times.modelFull).toFixed(1)} | ${median(ratios.modelFull).toFixed(3)} vs one session |`,
);
console.log(
  `| engine graph run, 4 steps (full.onnx: its default when nothing is skipped) | ${median(times.engineFull).toFixed(1)} | ${median(ratios.engineFull).toFixed(3)} vs the bare loop of the same model |`,
);
console.log(
  `| bare loop, block chain (12 sessions in this thread), 4 steps | ${median(times.bareChain).toFixed(1)} | ${median(ratios.chain).toFixed(3)} vs one full.onnx session |`,
);
console.log(
  `| bare loop, the engine's model: block chain (always in this thread), 4 steps | ${median(times.modelChain).toFixed(1)} | ${median(ratios.modelChain).toFixed(3)} vs one full.onnx session |`,
);
console.log(
  `| engine graph run, 4 steps, block chain | ${median(times.engineChain).toFixed(1)} | ${median(ratios.engineChain).toFixed(3)} vs the bare loop of the same model |`,
);
console.log(
  `| engine graph run, 100 steps (full.onnx) | ${median(long).toFixed(1)} | ${(median(long) / median(times.engineFull)).toFixed(1)}x the 4-step run |`,
);
await store.dispose();
