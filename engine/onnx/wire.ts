// What crosses between SplitExecutor and its worker threads: plain, transferable data. Kept
// apart (and light: no schema library) because every worker thread loads it at start.
import type { SegmentId } from './model-sessions.ts'
import { ModelError, type ModelErrorCode } from './model-error.ts'

/** A tensor as it crosses to a worker thread: plain data, transferable. */
export interface WireTensor {
  type: 'float32' | 'int64'
  data: Float32Array | BigInt64Array
  dims: number[]
}
export interface WireError { code?: ModelErrorCode; file?: string; field?: string; detail?: string; message: string }
export type WorkerRequest = { id: number; segment: SegmentId; feeds: Record<string, WireTensor> }
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'load-error'; error: WireError }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'run-error'; id: number; error: WireError }

export function toWire(error: unknown): WireError {
  if (error instanceof ModelError) return { code: error.code, file: error.file, field: error.field, detail: error.detail, message: error.message }
  return { message: error instanceof Error ? error.message : String(error) }
}

export function fromWire(error: WireError): Error {
  return error.code && error.file !== undefined && error.detail !== undefined ? new ModelError(error.code, error.file, error.field, error.detail) : new Error(error.message)
}
