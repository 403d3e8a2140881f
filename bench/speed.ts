/**
 * Speed of the engine against the bare minimum, measured in one run, interleaved:
 *  - the engine's 4-step graph run (LoadModel -> StepScheduler -> FewStepSampler -> PreviewImage)
 *    vs a bare loop of onnxruntime session calls doing the same work (same options, same batch,
 *    same guidance; DDIM math inline), for both ways the engine can run the model: full.onnx
 *    (its default when no block is skipped) and the block chain (FEWSTEP_BLOCK_CHAIN=1, or any
 *    SkipGate); and the bare chain against the bare whole-model loop;
 *  - 4-step vs 100-step wall time on the same batch.
 * `node --import tsx bench/speed.ts [batch] [rounds]`
 */
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { loadManifest } from '../engine/onnx/index.ts';
import { sessionOptionsFor, DEFAULT_SESSION_TUNING } from '../engine/onnx/session-options.ts';
import { alphaCumprod, computeTimesteps, parseNoiseSchedule } from '../engine/diffusion/index.ts';
import { DEFAULT_MODELS_ROOT } from '../engine/onnx/model-store.ts';
import { createFewstepSetup } from '../server/setup.ts';

const batch = Number(process.argv[2] ?? 16);
const rounds = Number(process.argv[3] ?? 5);
const cfg = 2;
const dir = path.join(DEFAULT_MODELS_ROOT, 'fmnist');
const manifest = await loadManifest(dir);
const schedule = parseNoiseSchedule(manifest.schedule);
const { engine, store } = createFewstepSetup();
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
async function bareLoop(steps: number, whole: boolean): Promise<Float32Array> {
  const timesteps = computeTimesteps({ kind: 'trailing' }, steps, schedule);
  let x = Float32Array.from({ length: batch * size }, () => Math.random() * 2 - 1);
  const labels = BigInt64Array.from({ length: 2 * batch }, (_, i) => BigInt(i < batch ? i % 10 : manifest.nullClass!));
  for (let s = 0; s < timesteps.length; s++) {
    const doubled = new Float32Array(2 * batch * size);
    doubled.set(x);
    doubled.set(x, batch * size);
    const xt = new ort.Tensor('float32', doubled, [2 * batch, 1, 28, 28]);
    const feeds = { x: xt, t: new ort.Tensor('float32', new Float32Array(2 * batch).fill(timesteps[s]), [2 * batch]), label: new ort.Tensor('int64', labels, [2 * batch]) };
    let v: Float32Array;
    if (whole) v = (await fullSession.run(feeds))[fullSession.outputNames[0]].data as Float32Array;
    else {
      const embedded = await sessions[0].run(feeds);
      let h = embedded.h;
      for (const block of sessions.slice(1, -1)) h = (await block.run({ h, emb: embedded.emb })).h_out;
      v = (await sessions.at(-1)!.run({ h, emb: embedded.emb, x: xt })).out.data as Float32Array;
    }
    const a = alphaCumprod(schedule, timesteps[s]);
    const aNext = s + 1 < timesteps.length ? alphaCumprod(schedule, timesteps[s + 1]) : 1;
    const next = new Float32Array(batch * size);
    for (let i = 0; i < next.length; i++) {
      const out = v[batch * size + i] + cfg * (v[i] - v[batch * size + i]);
      const x0 = Math.sqrt(a) * x[i] - Math.sqrt(1 - a) * out;
      const eps = Math.sqrt(1 - a) * x[i] + Math.sqrt(a) * out;
      next[i] = Math.sqrt(aNext) * x0 + Math.sqrt(1 - aNext) * eps;
    }
    x = next;
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
for (const whole of [true, false]) {
  await engineRun(4, 0, whole);
  await bareLoop(4, whole);
}
const times = { engineFull: [] as number[], bareFull: [] as number[], engineChain: [] as number[], bareChain: [] as number[] };
const ratios = { engineFull: [] as number[], engineChain: [] as number[], chain: [] as number[] };
for (let r = 0; r < rounds; r++) {
  const ef = await timeIt(() => engineRun(4, r + 1, true));
  const bf = await timeIt(() => bareLoop(4, true));
  const ec = await timeIt(() => engineRun(4, r + 1, false));
  const bc = await timeIt(() => bareLoop(4, false));
  times.engineFull.push(ef), times.bareFull.push(bf), times.engineChain.push(ec), times.bareChain.push(bc);
  ratios.engineFull.push(ef / bf), ratios.engineChain.push(ec / bc), ratios.chain.push(bc / bf);
}
const long: number[] = [];
for (let r = 0; r < Math.max(1, Math.floor(rounds / 3)); r++) long.push(await timeIt(() => engineRun(100, 100 + r, true)));
model.preferFull = true;

console.log(`batch ${batch}, cfg ${cfg} (doubled batch), ddim, trailing; ${rounds} interleaved rounds; ${os.cpus().length} cores`);
console.log('| measure | median ms | ratio (median of paired ratios) |');
console.log('|---|---|---|');
console.log(`| bare loop, full.onnx session, 4 steps | ${median(times.bareFull).toFixed(1)} | 1.00 |`);
console.log(`| engine graph run, 4 steps (full.onnx: its default when nothing is skipped) | ${median(times.engineFull).toFixed(1)} | ${median(ratios.engineFull).toFixed(3)} vs the bare full.onnx loop |`);
console.log(`| bare loop, block chain (12 sessions), 4 steps | ${median(times.bareChain).toFixed(1)} | ${median(ratios.chain).toFixed(3)} vs the bare full.onnx loop |`);
console.log(`| engine graph run, 4 steps, block chain | ${median(times.engineChain).toFixed(1)} | ${median(ratios.engineChain).toFixed(3)} vs the bare chain loop |`);
console.log(`| engine graph run, 100 steps (full.onnx) | ${median(long).toFixed(1)} | ${(median(long) / median(times.engineFull)).toFixed(1)}x the 4-step run |`);
await store.dispose();
