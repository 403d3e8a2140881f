import Type from 'typebox';
import { defineNode } from '../engine/node.ts';
import { checkInputImage, loadInputImage } from './input-image.ts';

export default defineNode({
  type: 'LoadImage',
  displayName: 'Load Image',
  category: 'image',
  description: 'Loads a PNG or JPEG from the input folder (upload one in the editor, or copy it into input/).',
  widgets: {
    // image_upload: /object_info shows it as ComfyUI does, a combo of the input folder's images with an upload button.
    image: Type.String({
      default: 'example.png',
      minLength: 1,
      image_upload: true,
      description: 'A file in the input folder (also sub/name.png, or name.png [output] / [temp] as ComfyUI annotates them).',
    }),
  },
  outputs: { IMAGE: 'IMAGE' },
  // The file can change between runs under the same name, so its output is never reused.
  deterministic: false,
  check({ image }, env) {
    const problem = checkInputImage(image, env.folders);
    return problem ? [{ input: 'image', message: problem }] : [];
  },
  run(ctx, { image }) {
    return { outputs: { IMAGE: loadInputImage(image, ctx.folders) } };
  },
});
