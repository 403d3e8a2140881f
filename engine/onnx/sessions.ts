import path from 'node:path';
import ort from 'onnxruntime-node';
import { ModelError } from './model-error.ts';

/** Where a session's ONNX file is named: for errors that point a person at the right line. */
export interface SessionSource {
  dir: string;
  file: string;
  manifestPath: string;
  field: string;
}

/**
 * Creates one session and checks that its input and output names are what the manifest says.
 * `outputs` undefined accepts any outputs (full.onnx names its single output freely).
 */
export async function createCheckedSession(
  source: SessionSource,
  options: ort.InferenceSession.SessionOptions,
  expected: { inputs: readonly string[]; outputs?: readonly string[] },
): Promise<ort.InferenceSession> {
  const onnxPath = path.join(source.dir, source.file);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnxPath, options);
  } catch (cause) {
    throw new ModelError('session_failed', onnxPath, undefined, `onnxruntime cannot load it (${firstLine(cause)})`, { cause });
  }
  const problems: string[] = [];
  if (!sameNames(session.inputNames, expected.inputs)) {
    problems.push(`inputs are [${session.inputNames.join(', ')}], manifest ${source.field} expects [${expected.inputs.join(', ')}]`);
  }
  if (expected.outputs && !sameNames(session.outputNames, expected.outputs)) {
    problems.push(`outputs are [${session.outputNames.join(', ')}], manifest ${source.field} expects [${expected.outputs.join(', ')}]`);
  }
  if (problems.length > 0) {
    await session.release();
    throw new ModelError('io_mismatch', onnxPath, source.field, problems.join('; '));
  }
  return session;
}

/** Where full.onnx is and what it must take: all a worker thread needs to load it (plain data). */
export interface FullSessionSpec {
  source: SessionSource;
  inputs: readonly string[];
}

/** full.onnx's session, checked: the embed's inputs and exactly one output. */
export async function createSpecifiedFullSession(spec: FullSessionSpec, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  const full = await createCheckedSession(spec.source, options, { inputs: spec.inputs });
  if (full.outputNames.length !== 1) {
    await full.release();
    throw new ModelError('io_mismatch', path.join(spec.source.dir, spec.source.file), spec.source.field, `has ${full.outputNames.length} outputs, expected 1`);
  }
  return full;
}

export async function releaseAll(sessions: Iterable<ort.InferenceSession | undefined>): Promise<void> {
  await Promise.allSettled([...sessions].map((session) => session?.release()));
}

function sameNames(actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && expected.every((name) => actual.includes(name));
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
