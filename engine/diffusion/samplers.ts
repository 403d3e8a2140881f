/**
 * The sampler registry: every sampler by name with its options schema, for node widgets,
 * UI enums and validation. All entries share the Sampler signature.
 */
import Value from 'typebox/value';
import { DiffusionError } from './errors.ts';
import { ddimSampler } from './samplers/ddim.ts';
import { ddpmSampler } from './samplers/ddpm.ts';
import { dpmSolverPlusPlus2mSampler } from './samplers/dpmSolverPlusPlus2m.ts';
import { eulerSampler } from './samplers/euler.ts';
import { eulerAncestralSampler } from './samplers/eulerAncestral.ts';
import type { Sampler, SamplerState } from './samplers/types.ts';

/** A sampler whose options type has been erased; options are checked by resolveSamplerOptions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySampler = Sampler<any, any>;

export const SAMPLER_NAMES = ['dpmpp_2m', 'ddim', 'euler', 'euler_ancestral', 'ddpm'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

export const samplers: Readonly<Record<SamplerName, AnySampler>> = {
  dpmpp_2m: dpmSolverPlusPlus2mSampler,
  ddim: ddimSampler,
  euler: eulerSampler,
  euler_ancestral: eulerAncestralSampler,
  ddpm: ddpmSampler,
};

export function isSamplerName(name: string): name is SamplerName {
  return (SAMPLER_NAMES as readonly string[]).includes(name);
}

export function getSampler(name: string): Sampler<Record<string, unknown>, SamplerState> {
  if (!isSamplerName(name)) {
    throw new DiffusionError('unknown_sampler', `unknown sampler "${name}"; choose one of ${SAMPLER_NAMES.join(', ')}`, 'sampler');
  }
  return samplers[name];
}

/** Whether a sampler takes eta (and etaPerStep), as its options schema says. */
export function samplerTakesEta(name: string): boolean {
  const properties = (getSampler(name).optionsSchema as { properties?: Record<string, unknown> }).properties ?? {};
  return Object.hasOwn(properties, 'eta') && Object.hasOwn(properties, 'etaPerStep');
}

/** Fills defaults and validates options against the sampler's schema; throws DiffusionError. */
export function resolveSamplerOptions(name: string, options: unknown = {}): Record<string, unknown> {
  const sampler = getSampler(name);
  const resolved = Value.Default(sampler.optionsSchema, structuredClone(options ?? {}));
  if (!Value.Check(sampler.optionsSchema, resolved)) {
    const first = [...Value.Errors(sampler.optionsSchema, resolved)][0];
    throw new DiffusionError(
      'invalid_options',
      `invalid ${name} options: ${first?.instancePath ?? ''} ${first?.message ?? ''}`.trim(),
      `options${first?.instancePath.replaceAll('/', '.') ?? ''}`,
    );
  }
  return resolved as Record<string, unknown>;
}
