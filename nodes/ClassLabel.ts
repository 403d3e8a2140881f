import Type from 'typebox';
import { defineNode } from '../engine/node.ts';

/** Fashion-MNIST's classes, in label order: the default model's conditioning. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
const ALL = 'all classes';

export default defineNode({
  type: 'ClassLabel',
  displayName: 'Class Label',
  category: 'conditioning',
  description: 'The class to generate. "all classes" cycles through them across the batch (image i gets class i mod 10).',
  widgets: {
    label: Type.Union(
      [...FASHION_MNIST_CLASSES, ALL].map((name) => Type.Literal(name)),
      { default: 'Sneaker' },
    ),
  },
  outputs: { CONDITIONING: 'CONDITIONING' },
  run(_ctx, { label }) {
    const classes = label === ALL ? FASHION_MNIST_CLASSES.map((_, i) => i) : [FASHION_MNIST_CLASSES.indexOf(label as (typeof FASHION_MNIST_CLASSES)[number])];
    return { outputs: { CONDITIONING: { classes, names: classes.map((i) => FASHION_MNIST_CLASSES[i]) } } };
  },
});
