import { samplerTakesEta } from '../diffusion/index.ts';

/** A sampler node's settings: what FewStepSampler's widgets say, before a schedule overrides them. */
export interface SamplerChoice {
  readonly sampler: string;
  readonly cfg: number;
  readonly eta: number;
}

/** What generate() needs besides the model, labels and seed. */
export interface SamplingSettings {
  timesteps: readonly number[];
  cfg: number | readonly number[];
  sampler: string;
  samplerOptions: Record<string, unknown>;
}

/**
 * A schedule's timesteps with the sampler's settings: per-step guidance and eta that a learned
 * schedule carries win over the constant cfg and eta; eta only reaches samplers that take it.
 * FewStepSampler, the trainer's rollouts and the benches all sample through this one rule.
 */
export function samplingSettings(
  schedule: { readonly timesteps: readonly number[]; readonly guidance?: readonly number[]; readonly eta?: readonly number[] },
  choice: SamplerChoice,
): SamplingSettings {
  const samplerOptions = samplerTakesEta(choice.sampler) ? (schedule.eta ? { etaPerStep: schedule.eta } : { eta: choice.eta }) : {};
  return { timesteps: schedule.timesteps, cfg: schedule.guidance ?? choice.cfg, sampler: choice.sampler, samplerOptions };
}
