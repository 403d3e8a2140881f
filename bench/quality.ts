/**
 * Sample quality of the default model: samplers x steps, spacings and guidance scales, each on
 * n images from bench seeds (never used for tuning), scored by the model's classifier: Frechet
 * distance (FD) to the test split's features, agreement with the requested class, mean
 * confidence; with NFE, images/s and the real-vs-real FD floor at the same n.
 *
 *   node --import tsx bench/quality.ts [--samples 1000] [--steps 1,2,4,8,20,100] [--long ddim] [--compare dpmpp_2m,ddim] [--models DIR]
 *
 * Results are cached in bench/.cache (keyed by the model's files and the configuration), so
 * re-running after a change recomputes only what changed. Prints markdown tables.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelStore } from '../engine/onnx/index.ts';
import { computeTimesteps, parseNoiseSchedule, SAMPLER_NAMES, type Spacing } from '../engine/diffusion/index.ts';
import { evaluate, evaluationCacheKey, frechetReferenceFor, SEED_RANGES, type EvaluationResult } from '../engine/sampling/evaluate.ts';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '1000' },
    steps: { type: 'string', default: '1,2,4,8,20,100' },
    samplers: { type: 'string', default: SAMPLER_NAMES.join(',') },
    /** Samplers that also get the step counts above 20 (each 100-step row costs ~25x a 4-step one). */
    long: { type: 'string', default: 'ddim' },
    cfg: { type: 'string', default: '2' },
    tables: { type: 'string', default: 'grid,spacing,cfg' },
    /** Samplers compared across spacings and guidance scales at 4 steps. */
    compare: { type: 'string', default: 'dpmpp_2m,ddim' },
    /** Print only rows already in the cache (no sampling); the others are listed as not measured. */
    'cached-only': { type: 'boolean', default: false },
    /** A models folder other than models/ (e.g. one holding a staged export as fmnist/), to score a candidate model. */
    models: { type: 'string' },
  },
});
const samples = Number(values.samples);
const cfg = Number(values.cfg);
const store = values.models ? new ModelStore(path.resolve(values.models)) : new ModelStore();
const model = await store.load('fmnist');
const classifier = await store.classifier('fmnist');
const reference = await frechetReferenceFor(classifier);
const schedule = parseNoiseSchedule(model.schedule);
const handle = { name: 'fmnist', model, skip: null };
const cacheDir = path.resolve(import.meta.dirname, '.cache');
const floors = model.manifest.classifier?.fdFloor ?? {};
const floor = floors[String(samples)];

async function run(sampler: string, steps: number, spacing: Spacing, guidance = cfg): Promise<EvaluationResult | undefined> {
  const timesteps = computeTimesteps(spacing, steps, schedule);
  const options = { handle, classifier, reference, cacheDir, samples, seedBase: SEED_RANGES.bench, timesteps, cfg: guidance, sampler };
  if (values['cached-only'] && !existsSync(path.join(cacheDir, `eval-${evaluationCacheKey(options)}.json`))) return undefined;
  const result = await evaluate(options);
  process.stderr.write(`  ${sampler} ${steps} steps ${spacing.kind} cfg ${guidance}: FD ${result.fd.toFixed(3)}${result.cached ? ' (cached)' : ''}\n`);
  return result;
}

const header = `| sampler | steps | spacing | cfg | n | FD | FD / floor | agreement | confidence | NFE | images/s |`;
const rule = '|---|---|---|---|---|---|---|---|---|---|---|';
const row = (sampler: string, steps: number, spacing: string, guidance: number, r: EvaluationResult | undefined) =>
  !r
    ? `| ${sampler} | ${steps} | ${spacing} | ${guidance} | not measured in this run |||||||`
    : `| ${sampler} | ${steps} | ${spacing} | ${guidance} | ${r.samples} | ${r.fd.toFixed(3)} | ${floor ? (r.fd / floor).toFixed(2) : '-'} | ${(r.agreement * 100).toFixed(1)}% | ${r.meanConfidence.toFixed(3)} | ${r.nfe} | ${r.imagesPerSecond.toFixed(1)} |`;

const tables = values.tables.split(',');
const out: string[] = [
  `model fmnist, classifier test accuracy ${model.manifest.classifier?.testAccuracy}, real-vs-real FD floor at n=${samples}: ${floor ?? 'not recorded'}; bench seeds from ${SEED_RANGES.bench}`,
];
if (tables.includes('grid')) {
  out.push('', `Samplers x steps (trailing spacing, cfg ${cfg}):`, '', header, rule);
  const stepCounts = values.steps.split(',').map(Number);
  for (const sampler of values.samplers.split(',')) {
    for (const steps of stepCounts) {
      if (steps > 20 && !values.long.split(',').includes(sampler)) continue;
      out.push(row(sampler, steps, 'trailing', cfg, await run(sampler, steps, { kind: 'trailing' })));
    }
  }
}
if (tables.includes('spacing')) {
  out.push('', `Spacings at 4 steps (cfg ${cfg}):`, '', header, rule);
  const spacings: Spacing[] = [{ kind: 'trailing' }, { kind: 'linspace' }, { kind: 'leading' }, { kind: 'karras' }, { kind: 'logsnr' }];
  for (const sampler of values.compare.split(',')) {
    for (const spacing of spacings) out.push(row(sampler, 4, spacing.kind, cfg, await run(sampler, 4, spacing)));
  }
}
if (tables.includes('cfg')) {
  out.push('', 'Guidance scale at 4 steps (trailing):', '', header, rule);
  for (const sampler of values.compare.split(',')) {
    for (const guidance of [1, 1.5, 2, 3, 4]) out.push(row(sampler, 4, 'trailing', guidance, await run(sampler, 4, { kind: 'trailing' }, guidance)));
  }
}
console.log(out.join('\n'));
await store.dispose();
