import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { resolveInside, writeFileReplacing, writeNewFile } from '../engine/files.ts';
import { encodePng } from '../engine/image/png.ts';
import type { ImageBatch } from '../engine/image/image-batch.ts';
import type { ImageRef, NodeContext } from '../engine/node.ts';

/**
 * Next free number per folder and file stem. The folder is read once per process, not at every
 * save (an output folder of many thousands of images made every save slower); a number taken
 * meanwhile by someone else is skipped when its exclusive create fails.
 */
const nextNumber = new Map<string, number>();

function highestNumber(folder: string, pattern: RegExp): number {
  let highest = 0;
  for (const name of readdirSync(folder)) {
    const match = pattern.exec(name);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return highest;
}

/** Matches `${stem}_NNNNN_.png`, capturing the number. */
const numberPattern = (stem: string) => new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)_\\.png$`);

const numberedName = (stem: string, number: number) => `${stem}_${String(number).padStart(5, '0')}_.png`;

/** Writes `bytes` as `${stem}_NNNNN_.png` under the next free number; returns the file name. */
function writeNumbered(folder: string, stem: string, bytes: Uint8Array): string {
  const key = `${folder}\0${stem}`;
  const pattern = numberPattern(stem);
  let number = nextNumber.get(key) ?? highestNumber(folder, pattern) + 1;
  for (;;) {
    const filename = numberedName(stem, number);
    try {
      // A temporary name, then the real one (exclusively): a crash never leaves half a PNG under a real name.
      writeNewFile(path.join(folder, filename), bytes);
      nextNumber.set(key, number + 1);
      return filename;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Someone else wrote into the folder since it was read: skip past everything there now.
      number = Math.max(number + 1, highestNumber(folder, pattern) + 1);
    }
  }
}

/** Where a batch goes: the folder, the file stem, the subfolder as /view names it, and the PNG text chunks. */
function saveTarget(ctx: NodeContext, prefix: string, type: 'output' | 'temp') {
  const root = type === 'output' ? ctx.folders.output : ctx.folders.temp;
  const target = resolveInside(root, `${prefix}_`);
  const folder = path.dirname(target);
  const stem = path.basename(target).slice(0, -1);
  mkdirSync(folder, { recursive: true });
  const subfolder = path.relative(path.resolve(root), folder).split(path.sep).join('/');
  const text: Record<string, string> = {};
  if (ctx.prompt !== undefined) text.prompt = JSON.stringify(ctx.prompt);
  if (ctx.workflow !== undefined) text.workflow = JSON.stringify(ctx.workflow);
  return { folder, stem, subfolder, text };
}

/**
 * Writes every image of a batch as PNG into the output or temp folder, named as ComfyUI names
 * them (`prefix_00001_.png`, counting on from the highest number already there), each carrying
 * the prompt and workflow as tEXt chunks so the file can be dropped back into the editor.
 */
export function saveImages(ctx: NodeContext, images: ImageBatch, prefix: string, type: 'output' | 'temp'): ImageRef[] {
  const { folder, stem, subfolder, text } = saveTarget(ctx, prefix, type);
  const refs: ImageRef[] = [];
  for (let index = 0; index < images.count; index++) {
    refs.push({ filename: writeNumbered(folder, stem, encodePng(images, index, text)), subfolder, type });
  }
  return refs;
}

/**
 * As saveImages, but when a durable queue runs the prompt (ctx.fileNumbering) the numbers are
 * reserved per prompt id and node: the same prompt run again (its server or worker was killed)
 * writes over its own files instead of adding a second set, and leaves no gap.
 */
export async function saveImagesForPrompt(ctx: NodeContext, images: ImageBatch, prefix: string, type: 'output' | 'temp'): Promise<ImageRef[]> {
  const numbering = ctx.fileNumbering;
  if (!numbering) return saveImages(ctx, images, prefix, type);
  const { folder, stem, subfolder, text } = saveTarget(ctx, prefix, type);
  const cacheKey = `${folder}\0${stem}`;
  const pattern = numberPattern(stem);
  const key = [type, subfolder, stem].filter(Boolean).join('/');
  for (let replace = false; ; replace = true) {
    const floor = (nextNumber.get(cacheKey) ?? highestNumber(folder, pattern) + 1) - 1;
    const { first, reused } = await numbering.reserve({ promptId: ctx.promptId, nodeId: ctx.nodeId, key, count: images.count, floor, replace });
    const names = Array.from({ length: images.count }, (_, index) => numberedName(stem, first + index));
    const written: string[] = [];
    try {
      for (const [index, name] of names.entries()) {
        const file = path.join(folder, name);
        const bytes = encodePng(images, index, text);
        // Our own numbers from an earlier attempt at this prompt replace whatever it left; new numbers
        // are claimed exclusively. Either way a temporary name first: a crash never leaves half a PNG.
        if (reused) writeFileReplacing(file, bytes);
        else writeNewFile(file, bytes);
        written.push(file);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another writer (not through this queue) took a number: undo this attempt, re-read the folder, reserve again.
      for (const file of written) rmSync(file, { force: true });
      nextNumber.set(cacheKey, highestNumber(folder, pattern) + 1);
      continue;
    }
    nextNumber.set(cacheKey, Math.max(nextNumber.get(cacheKey) ?? 0, first + images.count));
    return names.map((filename) => ({ filename, subfolder, type }));
  }
}
