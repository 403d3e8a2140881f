/**
 * Reads an ONNX file's graph inputs and outputs (name, element type, shape) synchronously from
 * its protobuf, without creating a session: validation is synchronous, and a scorer whose input
 * does not fit must be reported there, before a run starts.
 */
import { readFileSync } from 'node:fs';

export interface OnnxValueInfo {
  name: string;
  /** ONNX TensorProto.DataType (1 = float32). */
  elemType: number;
  /** Fixed sizes as numbers, symbolic ones as their names (or null when unnamed). */
  dims: Array<number | string | null>;
}

export interface OnnxGraphInfo {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export class OnnxInfoError extends Error {
  override readonly name = 'OnnxInfoError';
}

interface Field {
  field: number;
  wire: number;
  /** varint value (wire 0) */
  value?: bigint;
  /** payload (wire 2) */
  bytes?: Uint8Array;
}

function* fields(buffer: Uint8Array): Generator<Field> {
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (offset >= buffer.length) throw new OnnxInfoError('truncated varint');
      const byte = buffer[offset++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new OnnxInfoError('varint too long');
    }
  };
  while (offset < buffer.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { field, wire, value: varint() };
    else if (wire === 1) offset += 8;
    else if (wire === 5) offset += 4;
    else if (wire === 2) {
      const length = Number(varint());
      if (offset + length > buffer.length) throw new OnnxInfoError('truncated field');
      yield { field, wire, bytes: buffer.subarray(offset, offset + length) };
      offset += length;
    } else throw new OnnxInfoError(`unsupported wire type ${wire}`);
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function valueInfo(bytes: Uint8Array): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: 0, dims: [] };
  for (const f of fields(bytes)) {
    if (f.field === 1 && f.bytes) info.name = text(f.bytes);
    if (f.field !== 2 || !f.bytes) continue;
    for (const type of fields(f.bytes)) {
      if (type.field !== 1 || !type.bytes) continue; // tensor_type
      for (const tensor of fields(type.bytes)) {
        if (tensor.field === 1 && tensor.value !== undefined) info.elemType = Number(tensor.value);
        if (tensor.field !== 2 || !tensor.bytes) continue; // shape
        for (const dim of fields(tensor.bytes)) {
          if (dim.field !== 1 || !dim.bytes) continue;
          let value: number | string | null = null;
          for (const d of fields(dim.bytes)) {
            if (d.field === 1 && d.value !== undefined) value = Number(d.value);
            if (d.field === 2 && d.bytes) value = text(d.bytes);
          }
          info.dims.push(value);
        }
      }
    }
  }
  return info;
}

/** The graph's real inputs (initializers listed as inputs are left out) and outputs. */
export function onnxGraphInfo(model: Uint8Array): OnnxGraphInfo {
  let graph: Uint8Array | undefined;
  for (const f of fields(model)) if (f.field === 7 && f.bytes) graph = f.bytes;
  if (!graph) throw new OnnxInfoError('no graph in the file (is it an ONNX model?)');
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const initializers = new Set<string>();
  for (const f of fields(graph)) {
    if (!f.bytes) continue;
    if (f.field === 11) inputs.push(valueInfo(f.bytes));
    if (f.field === 12) outputs.push(valueInfo(f.bytes));
    if (f.field === 5) for (const t of fields(f.bytes)) if (t.field === 8 && t.bytes) initializers.add(text(t.bytes));
  }
  return { inputs: inputs.filter((input) => !initializers.has(input.name)), outputs };
}

export function readOnnxGraphInfo(file: string): OnnxGraphInfo {
  return onnxGraphInfo(readFileSync(file));
}
