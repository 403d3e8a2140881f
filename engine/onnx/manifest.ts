import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import Type from 'typebox';
import Value from 'typebox/value';
import { ModelError } from './model-error.ts';

export const MANIFEST_FILE = 'model.json';
export const MANIFEST_FORMAT = 'fewstep-segmented/1';

/** A plain file name inside the model folder: no directories, so a manifest cannot point outside it. */
const OnnxFileName = Type.String({ pattern: '^[^/\\\\]+\\.onnx$' });
const PlainFileName = Type.String({ pattern: '^[^/\\\\]+$' });
const Flops = Type.Number({ minimum: 0 });

export const SegmentKinds = ['embed', 'block', 'head'] as const;
export type SegmentKind = (typeof SegmentKinds)[number];

export const SegmentSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  kind: Type.Enum(SegmentKinds),
  file: OnnxFileName,
  inputs: Type.Array(Type.String()),
  outputs: Type.Array(Type.String()),
  flops: Flops,
});
export type Segment = Type.Static<typeof SegmentSchema>;

/** The tensor names each segment kind must take and give (order free; matched by name). */
export const SEGMENT_IO: Record<SegmentKind, { inputs: readonly string[]; outputs: readonly string[] }> = {
  embed: { inputs: ['x', 't', 'label'], outputs: ['h', 'emb'] },
  block: { inputs: ['h', 'emb'], outputs: ['h_out'] },
  head: { inputs: ['h', 'emb', 'x'], outputs: ['out'] },
};

export const ClassifierInfoSchema = Type.Object({
  file: OnnxFileName,
  input: Type.String({ minLength: 1 }),
  logits: Type.String({ minLength: 1 }),
  features: Type.String({ minLength: 1 }),
  stats: Type.Optional(PlainFileName),
  testAccuracy: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  /** FD of real test images against themselves, by sample count: the best score reachable. */
  fdFloor: Type.Optional(Type.Record(Type.String(), Type.Number())),
});
export type ClassifierInfo = Type.Static<typeof ClassifierInfoSchema>;

/** How a quantized copy of a model was made (models/recipe/quantize.py); recorded, not interpreted. */
export const QuantizationInfoSchema = Type.Object(
  {
    /** The model folder it was quantized from, relative to the models root. */
    from: Type.String({ minLength: 1 }),
    format: Type.String({ minLength: 1 }),
    recipe: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const ManifestSchema = Type.Object({
  format: Type.Literal(MANIFEST_FORMAT),
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Type.String()),
  image: Type.Object({
    channels: Type.Integer({ minimum: 1 }),
    height: Type.Integer({ minimum: 1 }),
    width: Type.Integer({ minimum: 1 }),
    range: Type.Tuple([Type.Number(), Type.Number()]),
  }),
  classes: Type.Array(Type.String(), { minItems: 1 }),
  nullClass: Type.Optional(Type.Integer({ minimum: 0 })),
  prediction: Type.Enum(['v', 'eps', 'x0']),
  // Interpreted by engine/diffusion; carried through untouched here.
  schedule: Type.Object({ kind: Type.String() }, { additionalProperties: true }),
  stochasticDepth: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  segments: Type.Array(SegmentSchema, { minItems: 3 }),
  full: Type.Optional(Type.Object({ file: OnnxFileName, flops: Flops })),
  classifier: Type.Optional(ClassifierInfoSchema),
  quantization: Type.Optional(QuantizationInfoSchema),
  training: Type.Optional(Type.Unknown()),
});
export type ModelManifest = Type.Static<typeof ManifestSchema>;

/** One problem found in a manifest: the field (JSON pointer without the leading slash) and what is wrong. */
export interface ManifestIssue {
  field: string;
  message: string;
}

/** Schema errors, one per field, worded for people (anyOf noise collapsed, allowed values listed). */
export function schemaIssues(value: unknown): ManifestIssue[] {
  const byField = new Map<string, string>();
  for (const error of Value.Errors(ManifestSchema, value)) {
    let field = error.instancePath.replace(/^\//, '');
    let message = error.message;
    const params = error.params as { requiredProperties?: string[]; allowedValues?: unknown[]; allowedValue?: unknown };
    if (error.keyword === 'required' && params.requiredProperties?.length) {
      field = [field, params.requiredProperties[0]].filter(Boolean).join('/');
      message = 'is required';
    } else if (error.keyword === 'enum' && params.allowedValues) {
      message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (error.keyword === 'const') {
      message = `must be ${JSON.stringify(params.allowedValue)}`;
    }
    const key = field || '(root)';
    if (!byField.has(key)) byField.set(key, message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

/** Rules the schema cannot say: segment order, segment I/O names, class indices, unique files. */
export function structureIssues(manifest: ModelManifest): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const { segments } = manifest;
  segments.forEach((segment, index) => {
    const expectedKind: SegmentKind = index === 0 ? 'embed' : index === segments.length - 1 ? 'head' : 'block';
    if (segment.kind !== expectedKind) {
      const where = expectedKind === 'block' ? 'between embed and head' : expectedKind === 'embed' ? 'first' : 'last';
      issues.push({ field: `segments/${index}/kind`, message: `is "${segment.kind}", expected "${expectedKind}" (${where})` });
      return;
    }
    for (const side of ['inputs', 'outputs'] as const) {
      const expected = SEGMENT_IO[segment.kind][side];
      if (!sameNames(segment[side], expected)) {
        issues.push({
          field: `segments/${index}/${side}`,
          message: `${segment.kind} ${side} must be [${expected.join(', ')}], got [${segment[side].join(', ')}]`,
        });
      }
    }
  });
  const seen = new Map<string, string>();
  const files: [string, string][] = segments.map((s, i) => [`segments/${i}/file`, s.file]);
  if (manifest.full) files.push(['full/file', manifest.full.file]);
  for (const [field, file] of files) {
    if (seen.has(file)) issues.push({ field, message: `${file} is already used by ${seen.get(file)}` });
    else seen.set(file, field);
  }
  if (manifest.nullClass !== undefined && manifest.nullClass < manifest.classes.length) {
    issues.push({ field: 'nullClass', message: `${manifest.nullClass} collides with class "${manifest.classes[manifest.nullClass]}"` });
  }
  if (manifest.image.range[0] >= manifest.image.range[1]) issues.push({ field: 'image/range', message: 'must be [low, high] with low < high' });
  return issues;
}

function sameNames(actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && expected.every((name) => actual.includes(name));
}

/** Every file the manifest names, with the field that names it. */
export function referencedFiles(manifest: ModelManifest): { field: string; file: string }[] {
  const files = manifest.segments.map((s, i) => ({ field: `segments/${i}/file`, file: s.file }));
  if (manifest.full) files.push({ field: 'full/file', file: manifest.full.file });
  if (manifest.classifier) {
    files.push({ field: 'classifier/file', file: manifest.classifier.file });
    if (manifest.classifier.stats) files.push({ field: 'classifier/stats', file: manifest.classifier.stats });
  }
  return files;
}

/**
 * Reads and checks dir/model.json, and that every file it names exists. Throws ModelError naming
 * the file and field of the first problem (all problems are listed in the message).
 */
export async function loadManifest(dir: string): Promise<ModelManifest> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError(
      missing ? 'model_not_found' : 'manifest_unreadable',
      manifestPath,
      undefined,
      missing ? 'does not exist' : `cannot be read (${(cause as Error).message})`,
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelError('manifest_unreadable', manifestPath, undefined, `is not valid JSON (${(cause as Error).message})`, { cause });
  }
  const issues = schemaIssues(json);
  if (issues.length === 0) issues.push(...structureIssues(json as ModelManifest));
  if (issues.length > 0) throw invalid(manifestPath, issues);
  const manifest = json as ModelManifest;
  for (const { field, file } of referencedFiles(manifest)) {
    try {
      await access(path.join(dir, file));
    } catch {
      throw new ModelError('file_missing', manifestPath, field, `${file} does not exist`);
    }
  }
  return manifest;
}

function invalid(manifestPath: string, issues: ManifestIssue[]): ModelError {
  const [first, ...rest] = issues;
  const more = rest.length === 0 ? '' : `; also ${rest.map((i) => `${i.field}: ${i.message}`).join('; ')}`;
  return new ModelError('manifest_invalid', manifestPath, first.field, `${first.message}${more}`);
}
