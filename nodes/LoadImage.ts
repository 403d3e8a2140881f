import { readFileSync } from 'node:fs';
import Type from 'typebox';
import { defineNode } from '../engine/node.ts';
import { resolveInside } from '../engine/files.ts';
import { decodePng } from '../engine/image/png.ts';

export default defineNode({
  type: 'LoadImage',
  displayName: 'Load Image',
  category: 'image',
  description: 'Loads a PNG from the input folder (upload one in the editor, or copy it into input/).',
  widgets: { image: Type.String({ default: 'example.png', minLength: 1, description: 'File name inside the input folder.' }) },
  outputs: { IMAGE: 'IMAGE' },
  // The file can change between runs under the same name, so its output is never reused.
  deterministic: false,
  run(ctx, { image }) {
    const file = resolveInside(ctx.folders.input, image);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      throw new Error(`image "${image}" is not in the input folder (${ctx.folders.input})`);
    }
    return { outputs: { IMAGE: decodePng(bytes, image).image } };
  },
});
