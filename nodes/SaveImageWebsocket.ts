import { defineNode } from '../engine/node.ts';
import { imageAt } from '../engine/image/image-batch.ts';

/**
 * ComfyUI's SaveImageWebsocket (custom_nodes/websocket_image_save.py), same name and behaviour:
 * each image goes to the submitting client as a binary websocket frame, exactly as a preview is
 * sent (uint32 type 1, uint32 format 2 = PNG, the PNG; or a type-4 frame with metadata to clients
 * that asked for those), with a `progress` message per image. No file is written and nothing is
 * listed in the history, so clients such as ComfyUI's websockets_api_example_ws_images.py take the
 * frames that arrive while this node is executing.
 */
export default defineNode({
  type: 'SaveImageWebsocket',
  displayName: 'SaveImageWebsocket',
  category: 'api/image',
  description: 'Sends each image to the client over the websocket as a binary PNG frame (as previews are sent), without writing a file.',
  inputs: { images: { type: 'IMAGE' } },
  outputNode: true,
  // As ComfyUI (IS_CHANGED returns the time): it sends its images on every run, never from the cache.
  deterministic: false,
  run(ctx, { images }) {
    for (let index = 0; index < images.count; index++) {
      ctx.throwIfAborted();
      ctx.progress(index, images.count, imageAt(images, index));
    }
    return { outputs: {} };
  },
});
