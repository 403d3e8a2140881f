import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveInside } from '../engine/files.ts';
import { encodePng } from '../engine/image/png.ts';
import type { ImageBatch } from '../engine/image/image-batch.ts';
import type { ImageRef, NodeContext } from '../engine/node.ts';

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
  const pattern = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)_\\.png$`);
  let counter = 1 + Math.max(0, ...readdirSync(folder).map((name) => Number(pattern.exec(name)?.[1] ?? 0)));
  const text: Record<string, string> = {};
  if (ctx.prompt !== undefined) text.prompt = JSON.stringify(ctx.prompt);
  if (ctx.workflow !== undefined) text.workflow = JSON.stringify(ctx.workflow);
  const refs: ImageRef[] = [];
  for (let index = 0; index < images.count; index++) {
    const filename = `${stem}_${String(counter++).padStart(5, '0')}_.png`;
    writeFileSync(path.join(folder, filename), encodePng(images, index, text), { flag: 'wx' });
    refs.push({ filename, subfolder, type });
  }
  return refs;
}
