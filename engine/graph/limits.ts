import type { PromptError } from './errors.ts';

/**
 * The most nodes one prompt or workflow may have. Validation is linear, but a graph this big is
 * no request to queue, and the cap keeps every request's work small enough to answer others meanwhile.
 */
export const MAX_PROMPT_NODES = 10_000;

/** The cap on nodes, as a prompt error naming it; undefined when `count` is within it. */
export function nodeCountError(count: number, what: 'prompt' | 'workflow'): PromptError | undefined {
  if (count <= MAX_PROMPT_NODES) return undefined;
  return {
    type: 'invalid_prompt',
    message: 'Too many nodes',
    details: `this ${what} has ${count} nodes; fewstep takes at most ${MAX_PROMPT_NODES} nodes per ${what}`,
    extra_info: { node_count: count, max_nodes: MAX_PROMPT_NODES },
  };
}
