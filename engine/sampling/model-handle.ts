import type { SegmentedModel } from '../onnx/index.ts';
import type { SkipSettings } from '../skip/runner.ts';

/**
 * What travels on a MODEL socket: a loaded model plus how to run it (SkipGate's settings).
 * Immutable and shared through the output cache; all per-run state (residual caches, compute
 * accounts) lives in the runner each sampling run creates, so nothing leaks between runs.
 */
export interface ModelHandle {
  readonly name: string;
  readonly model: SegmentedModel;
  readonly skip: SkipSettings | null;
}

declare module '../sockets.ts' {
  interface SocketValues {
    MODEL: ModelHandle;
  }
}
