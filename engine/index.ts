import type { AnyNodeSpec, Folders, ModelCatalog, NodeEnvironment } from './node.ts';
import { buildRegistry, type Registry } from './graph/registry.ts';
import { validatePrompt, type ValidationResult } from './graph/validate.ts';
import { nodeCountError } from './graph/limits.ts';
import { workflowToPrompt, type ConvertResult } from './graph/convert-to-prompt.ts';
import { promptToWorkflow } from './graph/convert-to-workflow.ts';
import { looksLikeWorkflow, type WorkflowV04 } from './graph/workflow.ts';
import { objectInfo, type ObjectInfoEntry } from './graph/object-info.ts';
import { listImageFiles } from './image/list-images.ts';
import { executeGraph, type RunOptions, type RunResult } from './run/executor.ts';

export interface EngineOptions {
  nodes: readonly AnyNodeSpec[];
  models?: ModelCatalog;
  /** The folders validation checks files in (see Engine.withFolders). */
  folders?: Folders;
}

/** The engine's public face: everything the server and CLI use goes through here. */
export interface Engine {
  readonly registry: Registry;
  readonly models: ModelCatalog;
  /** The folders this engine's validation checks the files a workflow names in; undefined: left to the run. */
  readonly folders: Folders | undefined;
  /** ComfyUI's /object_info; file widgets (LoadImage's image) list the files in the folders, read now. */
  objectInfo(): Record<string, ObjectInfoEntry>;
  /** A UI workflow becomes a prompt; a prompt is returned as it is. */
  toPrompt(input: unknown): ConvertResult;
  toWorkflow(prompt: unknown): WorkflowV04;
  /** Validates a prompt or a UI workflow, reporting every problem at once. */
  validate(input: unknown): ValidationResult;
  /** Validates, then runs. A UI workflow given as input is embedded in saved images. */
  run(input: unknown, options: RunOptions): Promise<RunResult>;
  /** The same engine (same registry and models) validating against the files in `folders`. */
  withFolders(folders: Folders): Engine;
}

const NO_MODELS: ModelCatalog = {
  list: () => [],
  load: async (name) => {
    throw new Error(`no model store is configured, so model "${name}" cannot be loaded`);
  },
};

/** Builds an immutable engine: the node registry with widgets resolved against the models. */
export function createEngine(options: EngineOptions): Engine {
  const models = options.models ?? NO_MODELS;
  const env: NodeEnvironment = { models };
  const registry = buildRegistry(options.nodes, env);
  const info = objectInfo(registry);

  const toPrompt = (input: unknown): ConvertResult => (looksLikeWorkflow(input) ? workflowToPrompt(registry, input) : { ok: true, prompt: input as never });

  const validate = (input: unknown, folders?: Folders): ValidationResult => {
    const uiNodes = looksLikeWorkflow(input) ? (input as { nodes: unknown[] }).nodes : undefined;
    const tooMany = uiNodes && nodeCountError(uiNodes.length, 'workflow');
    if (tooMany) return { ok: false, error: tooMany, nodeErrors: {} };
    const converted = toPrompt(input);
    if (!converted.ok) {
      return {
        ok: false,
        error: { type: 'invalid_prompt', message: 'Invalid workflow', details: converted.errors.join('; '), extra_info: { errors: converted.errors } },
        nodeErrors: {},
      };
    }
    return validatePrompt(registry, folders ? { models, folders } : env, converted.prompt);
  };

  const view = (folders: Folders | undefined): Engine =>
    Object.freeze({
      registry,
      models,
      folders,
      objectInfo: () => (folders ? objectInfo(registry, { inputImages: () => listImageFiles(folders.input) }) : structuredClone(info)),
      toPrompt,
      toWorkflow: (prompt: unknown) => promptToWorkflow(registry, prompt),
      validate: (input: unknown) => validate(input, folders),
      withFolders: (other: Folders) => view(other),
      async run(input: unknown, runOptions: RunOptions): Promise<RunResult> {
        const promptId = runOptions.promptId ?? crypto.randomUUID();
        // Checked against the folders this run reads and writes, whatever the engine was bound to.
        const validation = validate(input, runOptions.folders);
        if (!validation.ok) return { status: 'invalid', promptId, error: validation.error, nodeErrors: validation.nodeErrors };
        const converted = toPrompt(input);
        const workflow = runOptions.workflow ?? (looksLikeWorkflow(input) ? input : undefined);
        return executeGraph(registry, models, validation.graph, converted.ok ? converted.prompt : input, { ...runOptions, promptId, workflow });
      },
    });
  return view(options.folders);
}

export { defineNode } from './node.ts';
export type { AnyNodeSpec, ModelCatalog, NodeContext, Folders, ImageRef, UiOutput, NodeResult, FileNumbering, FileNumberRequest } from './node.ts';
export type { RunOptions, RunResult, NodeFailure } from './run/executor.ts';
export type { RunEvent, RunEventListener } from './run/events.ts';
export { OutputCache } from './run/output-cache.ts';
export type { ValidationResult } from './graph/validate.ts';
export { MAX_PROMPT_NODES, nodeCountError } from './graph/limits.ts';
export { formatErrors, type NodeErrors, type PromptError } from './graph/errors.ts';
export { readWorkflowSource, type WorkflowSource } from './graph/source.ts';
export { looksLikeWorkflow } from './graph/workflow.ts';
export type { ObjectInfoEntry } from './graph/object-info.ts';
export type { Registry, NodeDef } from './graph/registry.ts';
export { SOCKET_TYPES, type SocketType } from './sockets.ts';
export { encodePng, decodePng } from './image/png.ts';
export type { ImageBatch } from './image/image-batch.ts';
