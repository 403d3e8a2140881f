/**
 * The one error type thrown by the diffusion math. It carries a stable `code` and the
 * `field` at fault so nodes can turn it into a validation message keyed by input name.
 */
export type DiffusionErrorCode =
  | 'invalid_schedule'
  | 'invalid_steps'
  | 'spacing_length_mismatch'
  | 'spacing_not_descending'
  | 'spacing_out_of_range'
  | 'invalid_timesteps'
  | 'invalid_options'
  | 'shape_mismatch'
  | 'sampler_finished'
  | 'unknown_sampler';

export class DiffusionError extends Error {
  readonly code: DiffusionErrorCode;
  /** The config field or argument at fault, e.g. "timesteps" or "options.eta". */
  readonly field: string | undefined;

  constructor(code: DiffusionErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'DiffusionError';
    this.code = code;
    this.field = field;
  }
}
