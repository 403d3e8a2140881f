import type { Static, TSchema } from 'typebox';
import type { SocketType, SocketValue } from './sockets.ts';
import type { ImageBatch } from './image/image-batch.ts';
import type { TrainingRole } from './training/roles.ts';

/**
 * The node contract. One file per node type calls `defineNode({...})`; its schema drives
 * validation, /object_info for the editor, UI->prompt conversion and the CLI's --set.
 */

export interface InputSpec {
  readonly type: SocketType;
  readonly optional?: boolean;
  readonly tooltip?: string;
}

export type InputSpecs = Readonly<Record<string, InputSpec>>;
export type WidgetSchemas = Readonly<Record<string, TSchema>>;
export type OutputSpecs = Readonly<Record<string, SocketType>>;

/** What a node may ask of the world it runs in; fixed when the engine is created. */
export interface NodeEnvironment {
  readonly models: ModelCatalog;
  /**
   * The folders files are read from, when the caller knows them (a server, the CLI, a run): then
   * checks can look at the files a workflow names; without them such checks are left to run().
   */
  readonly folders?: Folders;
}

/** The engine's view of the model store: names to list in widgets, models to load in run(). */
export interface ModelCatalog {
  /** The folder models (and files such as ONNX scorers) live in; no path a workflow names may leave it. */
  readonly root?: string;
  list(): string[];
  /** Loads (once) and returns a model; its type is the store's business. */
  load(name: string): Promise<unknown>;
  /**
   * What a model's manifest says about its shape, read synchronously (check() runs before any
   * model loads); undefined when the model is unknown or its manifest unreadable.
   */
  info?(name: string): ModelInfo | undefined;
}

export interface ModelInfo {
  /** Transformer or U-Net blocks between embed and head. */
  readonly blocks: number;
}

export interface Folders {
  readonly output: string;
  readonly temp: string;
  readonly input: string;
}

/** A reference to an image a node wrote, as ComfyUI's history and /view name it. */
export interface ImageRef {
  filename: string;
  subfolder: string;
  type: 'output' | 'temp' | 'input';
}

/** What a node shows on its card after running (ComfyUI's `executed` output). */
export interface UiOutput {
  images?: ImageRef[];
  text?: string[];
  [key: string]: unknown;
}

/**
 * Numbers for the files a prompt's node saves, kept per prompt id by a durable queue, so a prompt
 * that runs again (after a crash, or on another worker) writes the same files: one set, no gaps.
 */
export interface FileNumbering {
  reserve(request: FileNumberRequest): Promise<{ first: number; reused: boolean }>;
}

export interface FileNumberRequest {
  promptId: string;
  nodeId: string;
  /** Where the files go, relative to the folders: `output/<subfolder>/<stem>`. */
  key: string;
  count: number;
  /** The highest number already in the folder, as this process sees it. */
  floor: number;
  /** The numbers reserved before turned out taken by another writer: reserve fresh ones above floor. */
  replace?: boolean;
}

export interface NodeContext {
  readonly nodeId: string;
  readonly promptId: string;
  /** Present when a durable queue runs the prompt: saved files are numbered per prompt id. */
  readonly fileNumbering?: FileNumbering;
  readonly signal: AbortSignal;
  readonly folders: Folders;
  readonly models: ModelCatalog;
  /** The prompt and UI workflow being run, for metadata (SaveImage embeds them). */
  readonly prompt: unknown;
  readonly workflow: unknown;
  /** Reports progress of a long node, e.g. per sampler step, with an optional preview and figures so far (e.g. compute per step). */
  progress(value: number, max: number, preview?: ImageBatch, detail?: Record<string, unknown>): void;
  /** Throws an AbortError when the run was interrupted; call between steps. */
  throwIfAborted(): void;
}

type InputValues<I extends InputSpecs> = {
  -readonly [K in keyof I]: I[K]['optional'] extends true ? SocketValue<I[K]['type']> | undefined : SocketValue<I[K]['type']>;
};
type WidgetValues<W extends WidgetSchemas> = { -readonly [K in keyof W]: Static<W[K]> };
export type OutputValues<O extends OutputSpecs> = { -readonly [K in keyof O]: SocketValue<O[K]> };

export interface NodeResult<O extends OutputSpecs> {
  outputs: OutputValues<O>;
  ui?: UiOutput;
  /** Figures the node measured (the sampler: nfe, flops, seconds, ...), reported by the CLI's --json. */
  stats?: Record<string, unknown>;
}

export interface NodeSpec<I extends InputSpecs, W extends WidgetSchemas, O extends OutputSpecs> {
  /** The class_type in workflows. */
  readonly type: string;
  readonly displayName: string;
  readonly category: string;
  readonly description: string;
  /** Bump when the node's behaviour changes, so cached outputs of the old version are not reused. */
  readonly version?: number;
  readonly inputs?: I;
  /** Widget schemas, or a function of the environment (e.g. to list the installed models). */
  readonly widgets?: W | ((env: NodeEnvironment) => W);
  readonly outputs?: O;
  readonly outputNode?: boolean;
  /** False for nodes whose output differs between runs with the same inputs: they are never cached. */
  readonly deterministic?: boolean;
  /**
   * Checks that need more than the schema (e.g. a mask's shape against the model), run during
   * validation on the widget values; returns problems keyed by widget name.
   */
  readonly check?: (widgets: WidgetValues<W>, env: NodeEnvironment) => Array<{ input: string; message: string }>;
  /**
   * The node's part in training a workflow (engine/training/roles.ts), from its validated widget
   * values: what it can learn and which widgets hold what it learned, or the sampler or reward it
   * stands for; undefined when it plays no part with these values.
   */
  readonly training?: (widgets: WidgetValues<W>) => TrainingRole | undefined;
  run(ctx: NodeContext, inputs: InputValues<I> & WidgetValues<W>): Promise<NodeResult<O>> | NodeResult<O>;
}

/** A node definition with its generics erased, as the registry holds it. */
export interface AnyNodeSpec {
  readonly type: string;
  readonly displayName: string;
  readonly category: string;
  readonly description: string;
  readonly version?: number;
  readonly inputs?: InputSpecs;
  readonly widgets?: WidgetSchemas | ((env: NodeEnvironment) => WidgetSchemas);
  readonly outputs?: OutputSpecs;
  readonly outputNode?: boolean;
  readonly deterministic?: boolean;
  readonly check?: (widgets: any, env: NodeEnvironment) => Array<{ input: string; message: string }>;
  readonly training?: (widgets: any) => TrainingRole | undefined;
  run(ctx: NodeContext, inputs: any): Promise<NodeResult<OutputSpecs>> | NodeResult<OutputSpecs>;
}

export function defineNode<const I extends InputSpecs = {}, const W extends WidgetSchemas = {}, const O extends OutputSpecs = {}>(
  spec: NodeSpec<I, W, O>,
): AnyNodeSpec {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(spec.type)) throw new Error(`node type name "${spec.type}" must be an identifier`);
  return Object.freeze(spec) as unknown as AnyNodeSpec;
}
