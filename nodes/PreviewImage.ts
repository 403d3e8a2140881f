import { randomBytes } from 'node:crypto';
import { defineNode } from '../engine/node.ts';
import { saveImages } from './image-files.ts';

export default defineNode({
  type: 'PreviewImage',
  displayName: 'Preview Image',
  category: 'image',
  description: 'Shows images on the node without keeping them: they go to the temp folder.',
  inputs: { images: { type: 'IMAGE' } },
  outputNode: true,
  run(ctx, { images }) {
    const prefix = `fewstep_temp_${randomBytes(3).toString('hex')}`;
    return { outputs: {}, ui: { images: saveImages(ctx, images, prefix, 'temp') } };
  },
});
