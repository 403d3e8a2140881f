import Type from 'typebox';
import { defineNode } from '../engine/node.ts';
import { SegmentedModel } from '../engine/onnx/index.ts';
import type { ModelHandle } from '../engine/sampling/model-handle.ts';

export const DEFAULT_MODEL = 'fmnist';

export default defineNode({
  type: 'LoadModel',
  displayName: 'Load Model',
  category: 'model',
  description: 'Loads a segmented diffusion model (embed, blocks, head as ONNX) from models/. Sessions are created once and shared by every run.',
  widgets: ({ models }) => {
    const names = models.list();
    const choices = names.length > 0 ? names : [DEFAULT_MODEL];
    return {
      model_name: Type.Union(
        choices.map((name) => Type.Literal(name)),
        {
          default: choices.includes(DEFAULT_MODEL) ? DEFAULT_MODEL : choices[0],
          description: 'A folder under models/ with a model.json.',
        },
      ),
    };
  },
  outputs: { MODEL: 'MODEL' },
  async run(ctx, { model_name }) {
    const model = await ctx.models.load(model_name);
    if (!(model instanceof SegmentedModel)) throw new Error(`model "${model_name}" is not a segmented diffusion model`);
    const handle: ModelHandle = { name: model_name, model, skip: null };
    return { outputs: { MODEL: handle } };
  },
});
