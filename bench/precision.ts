/**
 * Quality of the int8 model against the fp32 one, in the product runtime: the same sampler,
 * timesteps and seeds through both models, each image scored twice: by the fp32 model's classifier
 * (FD to the test split's features, agreement with the requested class) and by the independent judge
 * (models/<fp32>/judge.onnx, bench/lib/judge.ts), which nothing was tuned against. The fp32 model is
 * run over several disjoint bench seed ranges: the spread of its figures across seeds is what
 * "within the fp32 run's spread" means.
 *
 *   node --import tsx bench/precision.ts [--int8 fmnist-int8] [--samples 1000] [--seeds 3] [--steps 4,20] [--cfg 2]
 *
 * Results are cached in bench/.cache like bench/quality.ts.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelStore } from '../engine/onnx/index.ts';
import { computeTimesteps, parseNoiseSchedule } from '../engine/diffusion/index.ts';
import { loadJudge } from './lib/judge.ts';
import { evaluate, frechetReferenceFor, SEED_RANGES, type EvaluationResult } from '../engine/sampling/evaluate.ts';

const { values } = parseArgs({
  options: {
    fp32: { type: 'string', default: 'fmnist' },
    int8: { type: 'string', default: 'fmnist-int8' },
    samples: { type: 'string', default: '1000' },
    /** Disjoint seed ranges (100,000 apart from SEED_RANGES.bench) each model is sampled over. */
    seeds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '4,20' },
    cfg: { type: 'string', default: '2' },
    sampler: { type: 'string', default: 'ddim' },
  },
});
const samples = Number(values.samples);
const seedSets = Number(values.seeds);
const cfg = Number(values.cfg);
const store = new ModelStore();
const cacheDir = path.resolve(import.meta.dirname, '.cache');

const models = { fp32: await store.load(values.fp32), int8: await store.load(values.int8) };
// The fp32 model's classifier (what bench/quality.ts reports) scores every image; the judge scores the same images.
const classifier = await store.classifier(values.fp32);
const reference = await frechetReferenceFor(classifier);
const judge = await loadJudge(models.fp32.dir);
const judgeNames = ['classifier', 'judge'] as const;
const schedule = parseNoiseSchedule(models.fp32.schedule);
const out: string[] = [
  `${values.sampler}, trailing spacing, cfg ${cfg}, n=${samples} per run, seed ranges ${SEED_RANGES.bench} + k*100000 (k = 0..${seedSets - 1}); models ${values.fp32} and ${values.int8}`,
  '',
  '| judge | steps | model | FD per seed range | FD mean | FD spread (max-min) | agreement per seed range | images/s |',
  '|---|---|---|---|---|---|---|---|',
];
for (const steps of values.steps.split(',').map(Number)) {
  const timesteps = computeTimesteps({ kind: 'trailing' }, steps, schedule);
  const runs: Record<string, EvaluationResult[]> = {};
  for (const [precision, model] of Object.entries(models)) {
    const results: EvaluationResult[] = (runs[precision] = []);
    for (let k = 0; k < seedSets; k++) {
      const handle = { name: model.name, model, skip: null };
      const result = await evaluate({
        handle,
        classifier,
        reference,
        cacheDir,
        samples,
        seedBase: SEED_RANGES.bench + k * 100_000,
        timesteps,
        cfg,
        sampler: values.sampler,
        alsoScoreWith: [judge],
      });
      const [judged] = result.alsoScored;
      process.stderr.write(
        `  ${steps} steps ${precision} seeds ${k}: FD ${result.fd.toFixed(3)} agreement ${(result.agreement * 100).toFixed(1)}%; judge FD ${judged.fd.toFixed(3)} agreement ${(judged.agreement * 100).toFixed(1)}%${result.cached ? ' (cached)' : ''}\n`,
      );
      results.push(result);
    }
  }
  for (const judgeName of judgeNames) {
    for (const precision of Object.keys(models)) {
      const results = runs[precision];
      const figures = results.map((r) => (judgeName === 'judge' ? r.alsoScored[0] : r));
      const fds = figures.map((r) => r.fd);
      const fresh = results.filter((r) => !r.cached);
      const speed = fresh.length ? (fresh.reduce((a, r) => a + r.imagesPerSecond, 0) / fresh.length).toFixed(1) : 'cached';
      out.push(
        `| ${judgeName} | ${steps} | ${precision} | ${fds.map((v) => v.toFixed(3)).join(', ')} | ${(fds.reduce((a, b) => a + b, 0) / fds.length).toFixed(3)} | ${(Math.max(...fds) - Math.min(...fds)).toFixed(3)} | ${figures.map((r) => `${(r.agreement * 100).toFixed(1)}%`).join(', ')} | ${speed} |`,
      );
    }
  }
}
console.log(out.join('\n'));
await store.dispose();
