// Where the block chain's extra time goes, and what splitting a batch over worker threads gives.
//
//  1. Per call, inside onnxruntime (its profiler's model_run) vs from JS: the chain's 12 session
//     calls and full.onnx's one, at each batch size.
//  2. The cost of a session boundary alone: a model that only negates h, inside vs from JS.
//  3. Batch split: full.onnx and the block chain with the batch cut into one part per core, each
//     run by a worker thread's single-threaded sessions, vs one session with the default tuning.
//
//   node --import tsx bench/onnx-overhead.ts [--model models/fmnist] [--batches 1,16] [--calls 20]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { loadManifest } from '../engine/onnx/manifest.ts';
import { DEFAULT_MODELS_ROOT } from '../engine/onnx/model-store.ts';
import { DEFAULT_TUNING_NAME, sessionOptionsFor } from '../engine/onnx/session-options.ts';
import { joinRows, sliceRows, toOrtTensors, type WireTensor } from '../engine/onnx/wire.ts';
import type { SplitRequest } from './lib/split-worker.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(DEFAULT_MODELS_ROOT, 'fmnist') },
    batches: { type: 'string', default: '1,16' },
    calls: { type: 'string', default: '20' },
  },
});
const dir = args.model;
const batches = args.batches.split(',').map(Number);
const calls = Number(args.calls);
const manifest = await loadManifest(dir);
if (!manifest.full) throw new Error(`${dir} has no full.onnx to compare against`);
const segmentFiles = manifest.segments.map((s) => s.file);
const { channels, height, width } = manifest.image;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fewstep-overhead-'));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const table = (header: string[], rows: string[][]) => {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log();
};

function inputs(batch: number): Record<string, WireTensor> {
  return {
    x: {
      type: 'float32',
      data: Float32Array.from({ length: batch * channels * height * width }, (_, i) => Math.sin(i * 12.9898) * 0.9),
      dims: [batch, channels, height, width],
    },
    t: { type: 'float32', data: Float32Array.from({ length: batch }, (_, i) => 50 + ((i * 97) % 900)), dims: [batch] },
    label: { type: 'int64', data: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 11)), dims: [batch] },
  };
}

/** Sessions with onnxruntime's profiler on, so each Run()'s own time can be read back. */
async function profiledSession(file: string, tag: string) {
  const options = { ...sessionOptionsFor('cpu'), enableProfiling: true, profileFilePrefix: path.join(tmp, tag) };
  return ort.InferenceSession.create(path.join(dir, file), options);
}
/** model_run durations (ms) from a session's profile, in call order. */
function runTimes(session: ort.InferenceSession, tag: string): number[] {
  session.endProfiling();
  const file = readdirSync(tmp).find((f) => f.startsWith(`${tag}_`) && f.endsWith('.json'));
  if (!file) throw new Error(`no profile for ${tag}`);
  const events = JSON.parse(readFileSync(path.join(tmp, file), 'utf8')) as { name: string; dur: number }[];
  return events.filter((e) => e.name === 'model_run').map((e) => e.dur / 1000);
}

console.log(
  `model ${manifest.name} (${segmentFiles.length - 2} blocks), ${os.availableParallelism()} cores, default tuning ${DEFAULT_TUNING_NAME}, ${calls} calls per cell, medians\n`,
);

// 1. Inside onnxruntime vs from JS.
const rows1: string[][] = [];
for (const batch of batches) {
  const tag = `b${batch}`;
  const chain = await Promise.all(segmentFiles.map((file, i) => profiledSession(file, `${tag}-seg${i}`)));
  const full = await profiledSession(manifest.full.file, `${tag}-full`);
  const feeds = toOrtTensors(inputs(batch));
  const runChain = async () => {
    const e = await chain[0].run(feeds);
    let h = e.h;
    for (const block of chain.slice(1, -1)) h = (await block.run({ h, emb: e.emb })).h_out;
    return chain[chain.length - 1].run({ h, emb: e.emb, x: feeds.x });
  };
  const warm = 3;
  for (let i = 0; i < warm; i++) {
    await runChain();
    await full.run(feeds);
  }
  const jsChain: number[] = [];
  const jsFull: number[] = [];
  for (let i = 0; i < calls; i++) {
    let start = now();
    await runChain();
    jsChain.push(now() - start);
    start = now();
    await full.run(feeds);
    jsFull.push(now() - start);
  }
  const perSegment = chain.map((s, i) => runTimes(s, `${tag}-seg${i}`).slice(warm));
  const ortChain = Array.from({ length: calls }, (_, c) => perSegment.reduce((sum, times) => sum + times[c], 0));
  const ortFull = runTimes(full, `${tag}-full`).slice(warm);
  const [jc, jf, oc, of] = [median(jsChain), median(jsFull), median(ortChain), median(ortFull)];
  rows1.push([
    String(batch),
    oc.toFixed(2),
    of.toFixed(2),
    (oc / of).toFixed(3),
    jc.toFixed(2),
    jf.toFixed(2),
    (jc / jf).toFixed(3),
    ((jc - oc - (jf - of)) / (chain.length - 1)).toFixed(3),
  ]);
  await Promise.all([...chain, full].map((s) => s.release()));
}
console.log('Inside onnxruntime (profiler model_run, summed over the chain) vs timed from JS:\n');
table(['batch', 'ORT chain ms', 'ORT full ms', 'ORT chain/full', 'JS chain ms', 'JS full ms', 'JS chain/full', 'JS-side ms per extra session call'], rows1);

// 2. A session boundary alone: negate h, nothing else.
const negFile = path.join(tmp, 'neg.onnx');
writeFileSync(negFile, negModel());
const rows2: string[][] = [];
for (const batch of batches) {
  const session = await ort.InferenceSession.create(negFile, {
    ...sessionOptionsFor('cpu'),
    enableProfiling: true,
    profileFilePrefix: path.join(tmp, `neg${batch}`),
  });
  const h = new ort.Tensor('float32', new Float32Array(batch * 64 * 14 * 14).fill(0.5), [batch, 64, 14, 14]);
  const js: number[] = [];
  for (let i = 0; i < calls * 5; i++) {
    const start = now();
    await session.run({ h });
    js.push(now() - start);
  }
  const inside = runTimes(session, `neg${batch}`);
  rows2.push([String(batch), `${((batch * 64 * 14 * 14 * 4) / 1024).toFixed(0)} KiB`, median(inside).toFixed(3), median(js).toFixed(3)]);
  await session.release();
}
console.log('One session call that only negates h ([batch, 64, 14, 14]): inside onnxruntime vs from JS:\n');
table(['batch', 'h', 'ORT ms', 'JS ms'], rows2);

// 3. Batch split over worker threads.
const workerCount = os.availableParallelism();
const files: Record<string, string> = { full: manifest.full.file };
segmentFiles.forEach((file, i) => {
  files[`seg${i}`] = file;
});
const workerUrl = new URL('./lib/split-worker.ts', import.meta.url).href;
const workers = await Promise.all(
  Array.from(
    { length: workerCount },
    () =>
      new Promise<Worker>((resolve, reject) => {
        // Workers do not inherit tsx's loader: register it first, then import the TypeScript module.
        const worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(workerUrl)}) })`, {
          eval: true,
          workerData: { dir, files },
        });
        worker.once('message', () => resolve(worker));
        worker.once('error', reject);
      }),
  ),
);
/** Rows of part k of a batch split over the workers, as the engine's SplitExecutor cuts it. */
const part = (t: WireTensor, k: number): WireTensor => {
  const n = t.dims[0];
  return sliceRows(t, Math.floor((n * k) / workerCount), Math.floor((n * (k + 1)) / workerCount));
};
async function split(segment: string, feeds: Record<string, WireTensor>): Promise<Record<string, WireTensor>> {
  const outs = await Promise.all(
    workers.map(
      (worker, k) =>
        new Promise<Record<string, WireTensor>>((resolve) => {
          const request: SplitRequest = { segment, feeds: Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, part(t, k)])) };
          worker.once('message', resolve);
          worker.postMessage(
            request,
            Object.values(request.feeds).map((t) => t.data.buffer as ArrayBuffer),
          );
        }),
    ),
  );
  return Object.fromEntries(Object.keys(outs[0]).map((name) => [name, joinRows(outs.map((o) => o[name]))]));
}
const rows3: string[][] = [];
const one = await Promise.all([...segmentFiles, manifest.full.file].map((file) => ort.InferenceSession.create(path.join(dir, file), sessionOptionsFor('cpu'))));
const oneFull = one[one.length - 1];
for (const batch of batches.filter((b) => b >= workerCount)) {
  const feeds = inputs(batch);
  const splitFull = async () => Object.values(await split('full', feeds))[0];
  const splitChain = async () => {
    const e = await split('seg0', feeds);
    let h = e.h;
    for (let i = 1; i < segmentFiles.length - 1; i++) h = (await split(`seg${i}`, { h, emb: e.emb })).h_out;
    return (await split(`seg${segmentFiles.length - 1}`, { h, emb: e.emb, x: feeds.x })).out;
  };
  const local = async () => Object.values(await oneFull.run(toOrtTensors(feeds)))[0].data as Float32Array;
  const reference = await local();
  const got = (await splitFull()).data as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - reference[i]));
  for (let i = 0; i < 3; i++) {
    await local();
    await splitFull();
    await splitChain();
  }
  const [tl, tf, tc] = [[], [], []] as number[][];
  for (let i = 0; i < calls; i++) {
    let start = now();
    await local();
    tl.push(now() - start);
    start = now();
    await splitFull();
    tf.push(now() - start);
    start = now();
    await splitChain();
    tc.push(now() - start);
  }
  const [l, f, c] = [median(tl), median(tf), median(tc)];
  rows3.push([String(batch), l.toFixed(2), f.toFixed(2), (l / f).toFixed(2), c.toFixed(2), (c / f).toFixed(3), maxDiff.toExponential(1)]);
}
console.log(
  `Batch split over ${workerCount} worker threads (single-threaded sessions, one part of the batch each) vs one full.onnx session (${DEFAULT_TUNING_NAME}):\n`,
);
table(['batch', 'one session ms', 'split full ms', 'speed-up', 'split chain ms', 'split chain/full', 'max |split - one|'], rows3);

await Promise.all(workers.map((w) => w.terminate()));
await Promise.all(one.map((s) => s.release()));
rmSync(tmp, { recursive: true, force: true });

/** A one-node ONNX model, h -> -h, written by hand (protobuf wire format). */
function negModel(): Uint8Array {
  const bytes: number[] = [];
  const varint = (out: number[], v: number) => {
    while (v > 127) {
      out.push((v & 127) | 128);
      v >>>= 7;
    }
    out.push(v);
  };
  const field = (out: number[], num: number, payload: number[]) => {
    varint(out, (num << 3) | 2);
    varint(out, payload.length);
    out.push(...payload);
  };
  const str = (s: string) => [...Buffer.from(s)];
  const msg = (build: (out: number[]) => void) => {
    const out: number[] = [];
    build(out);
    return out;
  };
  const dim = (d: number | string) =>
    msg((o) => {
      if (typeof d === 'number') {
        varint(o, 1 << 3);
        varint(o, d);
      } else field(o, 2, str(d));
    });
  const valueInfo = (name: string) =>
    msg((o) => {
      field(o, 1, str(name));
      field(
        o,
        2,
        msg((type) =>
          field(
            type,
            1,
            msg((tensor) => {
              varint(tensor, 1 << 3);
              varint(tensor, 1);
              field(
                tensor,
                2,
                msg((shape) => {
                  for (const d of ['batch', 64, 14, 14]) field(shape, 1, dim(d));
                }),
              );
            }),
          ),
        ),
      );
    });
  const graph = msg((g) => {
    field(
      g,
      1,
      msg((node) => {
        field(node, 1, str('h'));
        field(node, 2, str('h_out'));
        field(node, 4, str('Neg'));
      }),
    );
    field(g, 2, str('neg'));
    field(g, 11, valueInfo('h'));
    field(g, 12, valueInfo('h_out'));
  });
  varint(bytes, 1 << 3);
  varint(bytes, 8); // ir_version 8
  field(bytes, 7, graph);
  field(
    bytes,
    8,
    msg((o) => {
      field(o, 1, []);
      varint(o, 2 << 3);
      varint(o, 17);
    }),
  ); // opset 17
  return Uint8Array.from(bytes);
}
