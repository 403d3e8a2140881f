// A worker thread of SplitExecutor: the model's full.onnx as a session with one intra-op thread,
// running whatever rows of a batch the main thread sends. Started by executors.ts, never
// imported. It loads as little as it can (no manifest or schema code): its start-up is paid
// once per worker thread.
import { parentPort, workerData } from 'node:worker_threads';
import type ort from 'onnxruntime-node';
import { createSpecifiedFullSession, type FullSessionSpec } from './sessions.ts';
import { fromOrtTensors, toOrtTensors, toWire, type WorkerReply, type WorkerRequest } from './wire.ts';

const port = parentPort!;
const { spec, options } = workerData as { spec: FullSessionSpec; options: ort.InferenceSession.SessionOptions };
const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

let full: ort.InferenceSession;
try {
  full = await createSpecifiedFullSession(spec, options);
} catch (error) {
  send({ type: 'load-error', error: toWire(error) });
  process.exit(0);
}

port.on('message', async ({ id, feeds }: WorkerRequest) => {
  try {
    const { tensors, transfer } = fromOrtTensors((await full.run(toOrtTensors(feeds))) as Record<string, ort.Tensor>);
    send({ type: 'result', id, outputs: tensors }, transfer);
  } catch (error) {
    send({ type: 'run-error', id, error: toWire(error) });
  }
});
send({ type: 'ready' });
