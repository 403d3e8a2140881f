import { readTextChunks } from '../image/png.ts';
import { looksLikeWorkflow } from './workflow.ts';

/** What a workflow file held: a UI workflow (with the prompt saved beside it, for PNGs) or an API prompt. */
export type WorkflowSource =
  | { ok: true; kind: 'workflow'; workflow: unknown; prompt?: unknown }
  | { ok: true; kind: 'prompt'; prompt: unknown }
  | { ok: false; message: string };

/**
 * Reads a workflow from file bytes: JSON (UI or API format) or a PNG carrying `workflow` /
 * `prompt` text chunks, as fewstep and ComfyUI write them. `name` is used in messages only.
 */
export function readWorkflowSource(bytes: Buffer, name: string): WorkflowSource {
  const isPng = bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47;
  if (isPng) {
    let text: Record<string, string>;
    try {
      text = readTextChunks(bytes, name);
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
    const workflow = text.workflow ? parseJson(text.workflow) : undefined;
    const prompt = text.prompt ? parseJson(text.prompt) : undefined;
    if (workflow !== undefined && looksLikeWorkflow(workflow)) return { ok: true, kind: 'workflow', workflow, prompt };
    if (prompt !== undefined) return { ok: true, kind: 'prompt', prompt };
    return { ok: false, message: `${name}: this PNG carries no workflow (no "workflow" or "prompt" text chunk)` };
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const value = parseJson(text);
  if (value === undefined) {
    return { ok: false, message: `${name}: not JSON (${jsonError(text)}) and not a PNG` };
  }
  if (looksLikeWorkflow(value)) return { ok: true, kind: 'workflow', workflow: value };
  // A /prompt request body ({ prompt: {...} }) is accepted too.
  if (value && typeof value === 'object' && !Array.isArray(value) && 'prompt' in value && typeof (value as { prompt: unknown }).prompt === 'object') {
    return { ok: true, kind: 'prompt', prompt: (value as { prompt: unknown }).prompt };
  }
  return { ok: true, kind: 'prompt', prompt: value };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function jsonError(text: string): string {
  try {
    JSON.parse(text);
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}
