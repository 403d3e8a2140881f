import Type from 'typebox';
import { defineNode } from '../engine/node.ts';
import { saveImagesForPrompt } from './image-files.ts';

export default defineNode({
  type: 'SaveImage',
  displayName: 'Save Image',
  category: 'image',
  description: 'Saves images as PNG files in the output folder; each file carries the workflow, so dropping it on the editor brings the graph back.',
  inputs: { images: { type: 'IMAGE' } },
  widgets: {
    filename_prefix: Type.String({ default: 'fewstep', minLength: 1, description: 'File name prefix; may include a subfolder (e.g. garments/coat).' }),
  },
  outputNode: true,
  async run(ctx, { images, filename_prefix }) {
    return { outputs: {}, ui: { images: await saveImagesForPrompt(ctx, images, filename_prefix, 'output') } };
  },
});
