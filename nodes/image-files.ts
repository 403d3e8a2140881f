import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { resolveInside, writeNewFile } from '../engine/files.ts';
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

/** Writes `bytes` as `${stem}_NNNNN_.png` under the next free number; returns the file name. */
function writeNumbered(folder: string, stem: string, bytes: Uint8Array): string {
  const key = `${folder}\0${stem}`;
  const pattern = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)_\\.png$`);
  let number = nextNumber.get(key) ?? highestNumber(folder, pattern) + 1;
  for (;;) {
    const filename = `${stem}_${String(number).padStart(5, '0')}_.png`;
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

/**
 * Writes every image of a batch as PNG into the output or temp folder, named as ComfyUI names
 * them (`prefix_00001_.png`, counting on from the highest number already there), each carrying
 * the prompt and workflow as tEXt chunks so the file can be dropped back into the editor.
 */
export function saveImages(ctx: NodeContext, images: ImageBatch, prefix: string, type: 'output' | 'temp'): ImageRef[] {
  const root = type === 'output' ? ctx.folders.output : ctx.folders.temp;
  const target = resolveInside(root, `${prefix}_`);
  const folder = path.dirname(target);
  const stem = path.basename(target).slice(0, -1);
  mkdirSync(folder, { recursive: true });
  const subfolder = path.relative(path.resolve(root), folder).split(path.sep).join('/');
  const text: Record<string, string> = {};
  if (ctx.prompt !== undefined) text.prompt = JSON.stringify(ctx.prompt);
  if (ctx.workflow !== undefined) text.workflow = JSON.stringify(ctx.workflow);
  const refs: ImageRef[] = [];
  for (let index = 0; index < images.count; index++) {
    refs.push({ filename: writeNumbered(folder, stem, encodePng(images, index, text)), subfolder, type });
  }
  return refs;
}
