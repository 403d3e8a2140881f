/**
 * The one error the trainer throws for a workflow or setting it cannot train with: a code a
 * caller can switch on (the CLI's exit code, the server's status) and a message naming the node
 * or setting at fault.
 */
export type TrainingErrorCode =
  /** A training setting is unknown or out of its range. */
  | 'invalid_settings'
  /** The workflow does not validate. */
  | 'invalid_workflow'
  /** The workflow has nothing to learn, or not the sampler and reward learning needs. */
  | 'not_trainable'
  /** The part of the graph that makes the sampler's inputs did not run (e.g. the model did not load). */
  | 'run_failed';

export class TrainingError extends Error {
  override readonly name = 'TrainingError';
  constructor(
    readonly code: TrainingErrorCode,
    message: string,
  ) {
    super(message);
  }
}
