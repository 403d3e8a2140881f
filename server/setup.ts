import { createEngine, type Engine } from '../engine/index.ts';
import { allNodes } from '../nodes/index.ts';

/** The engine as fewstep ships it: every node, and the models under models/. */
export function createFewstepEngine(): Engine {
  return createEngine({ nodes: allNodes });
}
