import path from 'node:path';
import type ort from 'onnxruntime-node';
import { MANIFEST_FILE, SEGMENT_IO, type ModelManifest } from './manifest.ts';
import { ModelError } from './model-error.ts';
import { createCheckedSession, createSpecifiedFullSession, releaseAll, type FullSessionSpec } from './sessions.ts';

/** One session per segment of a model, and full.onnx's when it ships one. */
export interface ModelSessions {
  embed: ort.InferenceSession;
  blocks: ort.InferenceSession[];
  head: ort.InferenceSession;
  full: ort.InferenceSession | undefined;
}

/** Which session runs: a segment by kind, a block by index, or the whole model. */
export type SegmentId = 'embed' | 'head' | 'full' | number;

export function sessionFor(sessions: ModelSessions, segment: SegmentId): ort.InferenceSession | undefined {
  return typeof segment === 'number' ? sessions.blocks[segment] : sessions[segment];
}

/** Creates and checks the segments' sessions and full.onnx's (when the model ships one); on any failure releases what was made. */
export async function createModelSessions(dir: string, manifest: ModelManifest, options: ort.InferenceSession.SessionOptions): Promise<ModelSessions> {
  const created: ort.InferenceSession[] = [];
  const create = async (file: string, field: string, expected: { inputs: readonly string[]; outputs?: readonly string[] }) => {
    const session = await createCheckedSession({ dir, file, manifestPath: path.join(dir, MANIFEST_FILE), field }, options, expected);
    created.push(session);
    return session;
  };
  try {
    // One at a time: onnxruntime-node creates sessions on the calling thread anyway, and a failure
    // stops at the first bad file instead of loading the rest for nothing.
    const segments: ort.InferenceSession[] = [];
    for (const [index, segment] of manifest.segments.entries()) {
      segments.push(await create(segment.file, `segments/${index}`, SEGMENT_IO[segment.kind]));
    }
    const full = manifest.full ? await createSpecifiedFullSession(fullSessionSpec(dir, manifest), options) : undefined;
    if (full) created.push(full);
    return { embed: segments[0], blocks: segments.slice(1, -1), head: segments[segments.length - 1], full };
  } catch (error) {
    await releaseAll(created);
    throw error;
  }
}

/** Where a model's full.onnx is and what it must take (the check a worker thread repeats). */
export function fullSessionSpec(dir: string, manifest: ModelManifest): FullSessionSpec {
  if (!manifest.full) throw new ModelError('file_missing', path.join(dir, MANIFEST_FILE), 'full', 'this model has no full.onnx');
  return { source: { dir, file: manifest.full.file, manifestPath: path.join(dir, MANIFEST_FILE), field: 'full/file' }, inputs: SEGMENT_IO.embed.inputs };
}
