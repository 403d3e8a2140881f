import type { LGraphNode } from '@comfyorg/litegraph';

/** What a run left on a node: its images, a live preview, text it reported, and errors to draw. */
export interface NodeRunState {
  images: HTMLImageElement[];
  preview?: HTMLImageElement;
  /** Lines a node reported (ui.text), e.g. the sampler's step and compute figures. */
  text: string[];
  message?: string;
  inputErrors: Map<string, string>;
  /** The text as last drawn: wrapped lines and where they ended, in node coordinates. */
  textLayout?: { lines: string[]; widest: number; bottom: number };
}

export function runState(node: LGraphNode): NodeRunState {
  const holder = node as LGraphNode & { fewstep?: NodeRunState };
  holder.fewstep ??= { images: [], text: [], inputErrors: new Map() };
  return holder.fewstep;
}

/** Moves what a run left from one node object to another (undo rebuilds the nodes). */
export function adoptRunState(node: LGraphNode, state: NodeRunState | undefined): void {
  if (state) (node as LGraphNode & { fewstep?: NodeRunState }).fewstep = state;
}

export function peekRunState(node: LGraphNode): NodeRunState | undefined {
  return (node as LGraphNode & { fewstep?: NodeRunState }).fewstep;
}

/** The node's error marks are stale once the person changes what they point at. */
export function clearInputError(node: LGraphNode, input: string): void {
  const state = peekRunState(node);
  if (!state) return;
  state.inputErrors.delete(input);
  node.has_errors = state.inputErrors.size > 0 || Boolean(state.message);
}

/** A node-level failure (from a run) no longer applies once any of the node's inputs changes. */
export function clearNodeError(node: LGraphNode): void {
  const state = peekRunState(node);
  if (!state) return;
  state.message = undefined;
  node.has_errors = state.inputErrors.size > 0;
}
