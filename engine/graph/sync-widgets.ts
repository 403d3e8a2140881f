import type { Registry } from './registry.ts';
import { isPlainObject, isPromptLink, type Prompt } from './prompt.ts';
import { widgetSlots } from './widgets.ts';

/**
 * Writes a prompt's widget values back into the UI workflow it came from (a copy), so an image
 * saved after `--set seed=7` carries a workflow that says seed 7. Links and unknown nodes are left
 * alone; a seed's control value (fixed, randomize, ...) is kept: a headless run applies none.
 */
export function syncWidgetValues(registry: Registry, workflow: unknown, prompt: Prompt): unknown {
  if (!isPlainObject(workflow) || !Array.isArray(workflow.nodes)) return workflow;
  const copy = structuredClone(workflow) as { nodes: Array<{ id: unknown; type: string; widgets_values?: unknown }> };
  for (const node of copy.nodes) {
    const entry = prompt[String(node.id)];
    const def = registry.get(node.type);
    if (!entry || !def || def.widgets.length === 0) continue;
    const old = Array.isArray(node.widgets_values) ? node.widgets_values : [];
    // Seed controls saved after a value stay where they were (and stay absent where they were).
    const slots = new Map(widgetSlots(def.widgets, old).map((slot) => [slot.name, slot]));
    node.widgets_values = def.widgets.flatMap((widget) => {
      const slot = slots.get(widget.name);
      const value = entry.inputs[widget.name];
      const kept = value === undefined || isPromptLink(value) ? (slot ? old[slot.value] : undefined) : value;
      return slot?.control !== undefined ? [kept, old[slot.control]] : [kept];
    });
  }
  return copy;
}
