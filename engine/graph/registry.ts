import type { TSchema } from 'typebox';
import type { AnyNodeSpec, NodeEnvironment } from '../node.ts';
import type { SocketType } from '../sockets.ts';
import { hasControlAfterGenerate, widgetKind, type WidgetKind } from './widgets.ts';

/** A node type as the engine uses it: its spec with widgets resolved and everything in order. */
export interface NodeDef {
  readonly type: string;
  readonly spec: AnyNodeSpec;
  readonly version: number;
  readonly outputNode: boolean;
  readonly deterministic: boolean;
  readonly inputs: ReadonlyArray<{ name: string; type: SocketType; optional: boolean; tooltip?: string }>;
  /** `control`: a seed, after which editors save a control value (control_after_generate). */
  readonly widgets: ReadonlyArray<{ name: string; schema: TSchema; kind: WidgetKind; control: boolean }>;
  readonly outputs: ReadonlyArray<{ name: string; type: SocketType }>;
}

export type Registry = ReadonlyMap<string, NodeDef>;

export function buildRegistry(specs: readonly AnyNodeSpec[], env: NodeEnvironment): Registry {
  const registry = new Map<string, NodeDef>();
  for (const spec of specs) {
    if (registry.has(spec.type)) throw new Error(`two nodes define type "${spec.type}"`);
    const widgetSchemas = typeof spec.widgets === 'function' ? spec.widgets(env) : (spec.widgets ?? {});
    const inputs = Object.entries(spec.inputs ?? {}).map(([name, input]) => ({
      name,
      type: input.type,
      optional: input.optional === true,
      tooltip: input.tooltip,
    }));
    const widgets = Object.entries(widgetSchemas).map(([name, schema]) => {
      if (spec.inputs && name in spec.inputs) throw new Error(`${spec.type}: "${name}" is both an input and a widget`);
      return { name, schema, kind: widgetKind(schema), control: hasControlAfterGenerate(schema) };
    });
    const outputs = Object.entries(spec.outputs ?? {}).map(([name, type]) => ({ name, type }));
    registry.set(
      spec.type,
      Object.freeze({
        type: spec.type,
        spec,
        version: spec.version ?? 1,
        outputNode: spec.outputNode === true,
        deterministic: spec.deterministic !== false,
        inputs: Object.freeze(inputs),
        widgets: Object.freeze(widgets),
        outputs: Object.freeze(outputs),
      }),
    );
  }
  return registry;
}
