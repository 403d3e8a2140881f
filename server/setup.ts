import { createEngine, type Engine } from '../engine/index.ts';
import { ModelStore } from '../engine/onnx/index.ts';
import { allNodes } from '../nodes/index.ts';

export interface FewstepSetup {
  engine: Engine;
  store: ModelStore;
}

/** The engine as fewstep ships it: every node, and the models under models/ (loaded lazily). */
export function createFewstepSetup(store = new ModelStore()): FewstepSetup {
  return { engine: createEngine({ nodes: allNodes, models: store }), store };
}

export function createFewstepEngine(): Engine {
  return createFewstepSetup().engine;
}
