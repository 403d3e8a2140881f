import path from 'node:path';

export type ModelErrorCode =
  | 'model_not_found' // no such model folder / no model.json in it
  | 'manifest_unreadable' // model.json is not readable JSON
  | 'manifest_invalid' // model.json parsed but a field is wrong
  | 'file_missing' // a file the manifest names does not exist
  | 'session_failed' // onnxruntime could not load an ONNX file
  | 'io_mismatch' // an ONNX file's input/output names differ from the manifest
  | 'bad_input' // a caller passed tensors of the wrong size or shape
  | 'disposed' // the model was used after dispose()
  | 'worker_failed'; // a worker thread running part of the batch died

/**
 * Every failure of the model layer: a code to branch on, the file it concerns and (where it
 * applies) the manifest field, so the message alone tells a person what to fix.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code: ModelErrorCode;
  readonly file: string;
  readonly field: string | undefined;
  /** The message without the file and field in front (what a worker thread sends back). */
  readonly detail: string;

  constructor(code: ModelErrorCode, file: string, field: string | undefined, detail: string, options?: { cause?: unknown }) {
    const shown = displayPath(file);
    super(field === undefined ? `${shown}: ${detail}` : `${shown}: ${field}: ${detail}`, options);
    this.code = code;
    this.file = shown;
    this.field = field;
    this.detail = detail;
  }
}

/** Paths inside the working directory are shown relative (models/fmnist/model.json), others absolute. */
export function displayPath(file: string): string {
  if (!path.isAbsolute(file)) return file;
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
