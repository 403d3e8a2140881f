import { LGraphCanvas, LGraphNode, LiteGraph } from '@comfyorg/litegraph';

type SerialisedNode = Parameters<LGraphNode['configure']>[0];
import type { NodeInfo } from './api.ts';
import { drawContent, drawErrors } from './node-draw.ts';
import { clearInputError, clearNodeError } from './node-state.ts';
import { socketColour, socketTypes } from './sockets.ts';
import { addInputOrWidget, addUploadButton, withSeedControls } from './widgets.ts';

export { makeRoomForContent } from './node-draw.ts';
export { runState } from './node-state.ts';

/** The /object_info entries the editor registered, by type: search and tooltips read them. */
export const nodeDefinitions = new Map<string, NodeInfo>();

/** Registers one litegraph node type per /object_info entry: widgets from the schemas, sockets from the types. */
export function registerNodeTypes(info: Record<string, NodeInfo>): void {
  for (const type of socketTypes(Object.values(info))) LGraphCanvas.link_type_colors[type] = socketColour(type);
  for (const def of Object.values(info)) {
    nodeDefinitions.set(def.name, def);
    registerNodeType(def);
  }
}

function registerNodeType(def: NodeInfo): void {
  class FewstepNode extends LGraphNode {
    static override title = def.display_name || def.name;
    static comfyClass = def.name;
    static nodeData = def;
    static description = def.description;

    constructor(title?: string) {
      super(title ?? def.display_name ?? def.name, def.name);
      this.serialize_widgets = true;
      this.comfyClass = def.name;
      const order = [...def.input_order.required, ...(def.input_order.optional ?? [])];
      for (const name of order) {
        const spec = def.input.required[name] ?? def.input.optional?.[name];
        if (spec) addInputOrWidget(this, name, spec, !def.input.required[name]);
      }
      def.output.forEach((type, index) => {
        const output = this.addOutput(def.output_name[index] ?? type, type);
        output.color_on = socketColour(type);
      });
      if (def.name === 'LoadImage') addUploadButton(this);
      const [width, height] = this.computeSize();
      this.size = [Math.max(width, 240), height];
    }

    override configure(info: SerialisedNode): void {
      const saved = info.widgets_values;
      super.configure(Array.isArray(saved) ? { ...info, widgets_values: withSeedControls(this, saved) as typeof saved } : info);
    }

    override onConnectionsChange(type: number, slot: number): void {
      // A link made or removed on an input answers the error that was marked there.
      const input = type === LiteGraph.INPUT ? this.inputs?.[slot] : undefined;
      if (input) {
        clearInputError(this, input.name);
        clearNodeError(this);
      }
    }

    override onDrawBackground(ctx: CanvasRenderingContext2D): void {
      drawContent(this, ctx);
    }

    override onDrawForeground(ctx: CanvasRenderingContext2D): void {
      drawErrors(this, ctx);
    }
  }
  LiteGraph.registerNodeType(def.name, FewstepNode);
  (FewstepNode as unknown as { category: string }).category = def.category || 'fewstep';
}
