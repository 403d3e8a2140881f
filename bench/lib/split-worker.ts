// One worker of bench/onnx-overhead.ts's batch split: single-threaded sessions of a model's
// segments (and full.onnx), running whatever part of a batch the main thread sends. Unlike the
// engine's worker (engine/onnx/split-worker.ts) it also runs the block chain, to measure that.
import { parentPort, workerData } from 'node:worker_threads';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { sessionOptionsFor, SESSION_TUNINGS } from '../../engine/onnx/session-options.ts';
import { fromOrtTensors, toOrtTensors, type WireTensor } from '../../engine/onnx/wire.ts';

export interface SplitRequest {
  segment: string;
  feeds: Record<string, WireTensor>;
}

const { dir, files } = workerData as { dir: string; files: Record<string, string> };
const options = sessionOptionsFor('cpu', SESSION_TUNINGS['one-thread']);
const sessions: Record<string, ort.InferenceSession> = {};
for (const [segment, file] of Object.entries(files)) sessions[segment] = await ort.InferenceSession.create(path.join(dir, file), options);

parentPort!.on('message', async ({ segment, feeds }: SplitRequest) => {
  const { tensors, transfer } = fromOrtTensors((await sessions[segment].run(toOrtTensors(feeds))) as Record<string, ort.Tensor>);
  parentPort!.postMessage(tensors, transfer);
});
parentPort!.postMessage('ready');
