import { readFileSync, statSync } from 'node:fs';
import { readWorkflowSource } from '../../engine/index.ts';

import { UsageError } from '../usage-error.ts';

export { UsageError };

/** Reads a workflow file (UI JSON, API JSON, or a PNG carrying a workflow). */
export function loadWorkflowFile(file: string) {
  let bytes: Buffer;
  try {
    if (statSync(file).isDirectory()) throw new UsageError(`${file}: is a folder, not a workflow file`);
    bytes = readFileSync(file);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const source = readWorkflowSource(bytes, file);
  if (!source.ok) throw new UsageError(source.message);
  return source;
}
