/** The values on the CONDITIONING and SCHEDULE sockets. */

export interface Conditioning {
  /** Class indices; image i of a batch gets classes[i % classes.length]. */
  readonly classes: readonly number[];
  readonly names: readonly string[];
}

export interface StepSchedule {
  /** Model timesteps, strictly descending; the sampler adds the final step to clean. */
  readonly timesteps: readonly number[];
  /** How they were made ("trailing", "karras", "learned", ...). */
  readonly spacing: string;
  /** Optional per-step guidance scales and eta, when a learned schedule carries them. */
  readonly guidance?: readonly number[];
  readonly eta?: readonly number[];
}

declare module '../sockets.ts' {
  interface SocketValues {
    CONDITIONING: Conditioning;
    SCHEDULE: StepSchedule;
  }
}
