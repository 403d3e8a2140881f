/**
 * Validation problems in ComfyUI's shapes, so its clients can show them: one top-level error
 * and `node_errors` keyed by node id, each naming the input it is about.
 */
export type NodeErrorType =
  | 'invalid_prompt'
  | 'required_input_missing'
  | 'bad_linked_input'
  | 'return_type_mismatch'
  | 'invalid_input_type'
  | 'value_smaller_than_min'
  | 'value_bigger_than_max'
  | 'value_not_in_list'
  | 'custom_validation_failed'
  | 'dependency_cycle';

export type PromptErrorType = 'invalid_prompt' | 'prompt_no_outputs' | 'prompt_outputs_failed_validation';

export interface NodeErrorEntry {
  type: NodeErrorType;
  message: string;
  details: string;
  extra_info: { input_name?: string; received_value?: unknown; [key: string]: unknown };
}

export interface NodeErrors {
  [nodeId: string]: { errors: NodeErrorEntry[]; dependent_outputs: string[]; class_type: string };
}

export interface PromptError {
  type: PromptErrorType;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

/** Renders errors as lines a person can act on: `node 3 (FewStepSampler) cfg: value 40 is bigger than max 20`. */
export function formatErrors(error: PromptError, nodeErrors: NodeErrors): string[] {
  const lines = [error.details ? `${error.message}: ${error.details}` : error.message];
  for (const [nodeId, { class_type, errors }] of Object.entries(nodeErrors)) {
    for (const entry of errors) {
      const input = entry.extra_info.input_name ? ` ${entry.extra_info.input_name}` : '';
      lines.push(`  node ${nodeId} (${class_type})${input}: ${entry.details || entry.message}`);
    }
  }
  return lines;
}
