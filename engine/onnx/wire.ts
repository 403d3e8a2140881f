// What crosses between SplitExecutor and its worker threads: plain, transferable data. Kept
// apart (and light: no schema library) because every worker thread loads it at start.
import ort from 'onnxruntime-node';
import { ModelError, type ModelErrorCode } from './model-error.ts';

/** A tensor as it crosses to a worker thread: plain data, transferable. */
export interface WireTensor {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: number[];
}
export interface WireError {
  code?: ModelErrorCode;
  file?: string;
  field?: string;
  detail?: string;
  message: string;
}
/** Rows of a batch for full.onnx (the only thing worker threads run). */
export type WorkerRequest = { id: number; feeds: Record<string, WireTensor> };
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'load-error'; error: WireError }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'run-error'; id: number; error: WireError };

/** Wire tensors as onnxruntime feeds (no copy: the data is wrapped). */
export function toOrtTensors(feeds: Record<string, WireTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
}

/** A session's outputs as wire tensors (no copy), and the buffers to transfer with them. */
export function fromOrtTensors(outputs: Record<string, ort.Tensor>): { tensors: Record<string, WireTensor>; transfer: ArrayBuffer[] } {
  const tensors: Record<string, WireTensor> = {};
  for (const [name, t] of Object.entries(outputs)) tensors[name] = { type: t.type as WireTensor['type'], data: t.data as Float32Array, dims: [...t.dims] };
  return { tensors, transfer: [...new Set(Object.values(tensors).map((t) => t.data.buffer as ArrayBuffer))] };
}

/** Rows [lo, hi) of a batch-first tensor, copied (the copy is what is transferred). */
export function sliceRows(tensor: { type: string; data: unknown; dims: readonly number[] }, lo: number, hi: number): WireTensor {
  const data = tensor.data as Float32Array | BigInt64Array;
  const per = data.length / tensor.dims[0];
  return { type: tensor.type as WireTensor['type'], data: data.slice(lo * per, hi * per), dims: [hi - lo, ...tensor.dims.slice(1)] };
}

/** Parts of a batch joined in order (the inverse of sliceRows); one part is returned as it is. */
export function joinRows(parts: readonly WireTensor[]): WireTensor {
  if (parts.length === 1) return parts[0];
  const length = parts.reduce((sum, part) => sum + part.data.length, 0);
  const data = parts[0].type === 'int64' ? new BigInt64Array(length) : new Float32Array(length);
  let offset = 0;
  for (const part of parts) {
    (data as Float32Array).set(part.data as Float32Array, offset);
    offset += part.data.length;
  }
  return { type: parts[0].type, data, dims: [parts.reduce((sum, part) => sum + part.dims[0], 0), ...parts[0].dims.slice(1)] };
}

export function toWire(error: unknown): WireError {
  if (error instanceof ModelError) return { code: error.code, file: error.file, field: error.field, detail: error.detail, message: error.message };
  return { message: error instanceof Error ? error.message : String(error) };
}

export function fromWire(error: WireError): Error {
  return error.code && error.file !== undefined && error.detail !== undefined
    ? new ModelError(error.code, error.file, error.field, error.detail)
    : new Error(error.message);
}
