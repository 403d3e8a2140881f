import { readTextChunks } from '../image/png.ts';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from './json-depth.ts';
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
    const tooDeep = [workflow, prompt].find((parsed) => parsed?.ok === false && parsed.tooDeep);
    if (tooDeep && !tooDeep.ok) return { ok: false, message: `${name}: a text chunk's ${tooDeep.message}` };
    if (workflow?.ok && looksLikeWorkflow(workflow.value))
      return { ok: true, kind: 'workflow', workflow: workflow.value, prompt: prompt?.ok ? prompt.value : undefined };
    if (prompt?.ok) return { ok: true, kind: 'prompt', prompt: prompt.value };
    return { ok: false, message: `${name}: this PNG carries no workflow (no "workflow" or "prompt" text chunk)` };
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const parsed = parseJson(text);
  if (!parsed.ok) {
    return { ok: false, message: parsed.tooDeep ? `${name}: ${parsed.message}` : `${name}: not JSON (${parsed.message}) and not a PNG` };
  }
  const value = parsed.value;
  if (looksLikeWorkflow(value)) return { ok: true, kind: 'workflow', workflow: value };
  // A /prompt request body ({ prompt: {...} }) is accepted too.
  if (value && typeof value === 'object' && !Array.isArray(value) && 'prompt' in value && typeof (value as { prompt: unknown }).prompt === 'object') {
    return { ok: true, kind: 'prompt', prompt: (value as { prompt: unknown }).prompt };
  }
  return { ok: true, kind: 'prompt', prompt: value };
}

type ParsedJson = { ok: true; value: unknown } | { ok: false; message: string; tooDeep: boolean };

/** JSON text, refused before parsing when it nests too deep to ever be written back. */
function parseJson(text: string): ParsedJson {
  if (jsonNestsDeeperThan(Buffer.from(text, 'utf8'))) {
    return { ok: false, message: `JSON nests deeper than ${MAX_JSON_DEPTH} levels`, tooDeep: true };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: (error as Error).message, tooDeep: false };
  }
}
