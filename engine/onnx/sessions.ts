import path from 'node:path'
import ort from 'onnxruntime-node'
import { MANIFEST_FILE, SEGMENT_IO, type ModelManifest } from './manifest.ts'
import { ModelError } from './model-error.ts'

/** Where a session's ONNX file is named: for errors that point a person at the right line. */
export interface SessionSource {
  dir: string
  file: string
  manifestPath: string
  field: string
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
  const onnxPath = path.join(source.dir, source.file)
  let session: ort.InferenceSession
  try {
    session = await ort.InferenceSession.create(onnxPath, options)
  } catch (cause) {
    throw new ModelError('SESSION_FAILED', onnxPath, undefined, `onnxruntime cannot load it (${firstLine(cause)})`, { cause })
  }
  const problems: string[] = []
  if (!sameNames(session.inputNames, expected.inputs)) {
    problems.push(`inputs are [${session.inputNames.join(', ')}], manifest ${source.field} expects [${expected.inputs.join(', ')}]`)
  }
  if (expected.outputs && !sameNames(session.outputNames, expected.outputs)) {
    problems.push(`outputs are [${session.outputNames.join(', ')}], manifest ${source.field} expects [${expected.outputs.join(', ')}]`)
  }
  if (problems.length > 0) {
    await session.release()
    throw new ModelError('IO_MISMATCH', onnxPath, source.field, problems.join('; '))
  }
  return session
}

export async function releaseAll(sessions: Iterable<ort.InferenceSession | undefined>): Promise<void> {
  await Promise.allSettled([...sessions].map((session) => session?.release()))
}

function sameNames(actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && expected.every((name) => actual.includes(name))
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]
}

/** One session per segment of a model, and full.onnx's when it ships one. */
export interface ModelSessions {
  embed: ort.InferenceSession
  blocks: ort.InferenceSession[]
  head: ort.InferenceSession
  full: ort.InferenceSession | undefined
}

/** Which session runs: a segment by kind, a block by index, or the whole model. */
export type SegmentId = 'embed' | 'head' | 'full' | number

export function sessionFor(sessions: ModelSessions, segment: SegmentId): ort.InferenceSession | undefined {
  return typeof segment === 'number' ? sessions.blocks[segment] : sessions[segment]
}

/** Creates and checks the segments' sessions and, unless `full` is false, full.onnx's; on any failure releases what was made. */
export async function createModelSessions(dir: string, manifest: ModelManifest, options: ort.InferenceSession.SessionOptions, { full: withFull = true }: { full?: boolean } = {}): Promise<ModelSessions> {
  const created: ort.InferenceSession[] = []
  const create = async (file: string, field: string, expected: { inputs: readonly string[]; outputs?: readonly string[] }) => {
    const session = await createCheckedSession({ dir, file, manifestPath: path.join(dir, MANIFEST_FILE), field }, options, expected)
    created.push(session)
    return session
  }
  try {
    // One at a time: onnxruntime-node creates sessions on the calling thread anyway, and a failure
    // stops at the first bad file instead of loading the rest for nothing.
    const segments: ort.InferenceSession[] = []
    for (const [index, segment] of manifest.segments.entries()) {
      segments.push(await create(segment.file, `segments/${index}`, SEGMENT_IO[segment.kind]))
    }
    const full = withFull && manifest.full ? await createFullSession(dir, manifest, options) : undefined
    if (full) created.push(full)
    return { embed: segments[0], blocks: segments.slice(1, -1), head: segments[segments.length - 1], full }
  } catch (error) {
    await releaseAll(created)
    throw error
  }
}

/** full.onnx's session, checked: the embed's inputs and exactly one output. */
export async function createFullSession(dir: string, manifest: ModelManifest, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  if (!manifest.full) throw new ModelError('FILE_MISSING', path.join(dir, MANIFEST_FILE), 'full', 'this model has no full.onnx')
  const full = await createCheckedSession({ dir, file: manifest.full.file, manifestPath: path.join(dir, MANIFEST_FILE), field: 'full/file' }, options, { inputs: SEGMENT_IO.embed.inputs })
  if (full.outputNames.length !== 1) {
    await full.release()
    throw new ModelError('IO_MISMATCH', path.join(dir, manifest.full.file), 'full/file', `has ${full.outputNames.length} outputs, expected 1`)
  }
  return full
}
