import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createEngine, type Engine } from '../engine/index.ts';
import { ModelStore } from '../engine/onnx/index.ts';
import { allNodes } from '../nodes/index.ts';

export interface FewstepSetup {
  engine: Engine;
  store: ModelStore;
}

/** The engine as fewstep ships it: every node, and the models under models/ (loaded lazily). */
export function createFewstepSetup(store = new ModelStore()): FewstepSetup {
  const models = {
    // Widgets (LoadModel's list) are built when the engine is created, so the listing is synchronous.
    list: () =>
      existsSync(store.root)
        ? readdirSync(store.root, { withFileTypes: true })
            .filter((entry) => entry.isDirectory() && existsSync(path.join(store.root, entry.name, 'model.json')))
            .map((entry) => entry.name)
            .sort()
        : [],
    load: (name: string) => store.load(name),
  };
  return { engine: createEngine({ nodes: allNodes, models }), store };
}

export function createFewstepEngine(): Engine {
  return createFewstepSetup().engine;
}
