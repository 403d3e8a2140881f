/**
 * The headline: does a learned 4-step schedule match or beat 100 steps of the same model?
 * On n images from bench seeds (never used in training or for picking the hand-made setting):
 *   100-step DDIM baseline (cfg 2, as workflows/baseline-100-step.json), and the same with its
 *   guidance tuned on held-out seeds; 4-step uniform (trailing) DDIM; the best hand-made 4-step setting
 *   (picked on held-out seeds); the RL-learned 4-step schedule; the learned schedule with
 *   SkipGate's shipped setting.
 * Columns: the reward it was trained for (on chunks of the training batch size), FD, agreement,
 * NFE, FLOPs per image, wall time, speed-up over the baseline (images/s ratio) and FLOPs ratio.
 *
 *   node --import tsx bench/headline.ts [--samples 1000] [--learned workflows/four-step-learned.json]
 *        [--skip workflows/four-step-skip.json] [--tune-samples 256] [--baseline-cfgs 1,1.5,3]
 *
 * Evaluations are cached in bench/.cache (model files + configuration), so the 100-step
 * baseline is computed once; cached rows keep the wall time of the run that computed them (*).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { computeTimesteps, type Spacing } from '../engine/diffusion/index.ts';
import { evaluate, SEED_RANGES, type EvaluationResult } from '../engine/sampling/evaluate.ts';
import type { ModelHandle } from '../engine/sampling/model-handle.ts';
import { BENCH_CACHE, benchSetup, markdownTable, workflowSampling, type SamplingSettings } from './lib/workflow-sampling.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '1000' },
    learned: { type: 'string', default: path.join(root, 'workflows/four-step-learned.json') },
    'learned-skip': { type: 'string', default: path.join(root, 'workflows/four-step-learned-skip.json') },
    skip: { type: 'string', default: path.join(root, 'workflows/four-step-skip.json') },
    'tune-samples': { type: 'string', default: '256' },
    'baseline-steps': { type: 'string', default: '100' },
    /** Other guidance scales to try for the many-step baseline (picked on held-out seeds); '' for none. */
    'baseline-cfgs': { type: 'string', default: '1,1.5,3' },
  },
});
const samples = Number(values.samples);
const tuneSamples = Number(values['tune-samples']);
const setup = await benchSetup();
const { handle, noiseSchedule, classifier, reference } = setup;
const cfg = 2;

const learned = existsSync(values.learned) ? await workflowSampling(setup, values.learned) : undefined;
const trainedWeights = learned?.rewardWeights ?? { confidence: 0, fd: 1, jpeg: 0, onnx: 0 };
const trainingBatch = Number((learned?.learned?.ok ? learned.learned.value.training?.batch : undefined) ?? 64);

interface Setting {
  name: string;
  handle: ModelHandle;
  timesteps: number[];
  cfg: number | number[];
  sampler: string;
  samplerOptions: Record<string, unknown>;
}

const log = (text: string) => process.stderr.write(`${text}\n`);
async function measure(setting: Setting, n: number, seedBase: number): Promise<EvaluationResult> {
  const result = await evaluate({
    handle: setting.handle, classifier, reference, cacheDir: BENCH_CACHE, samples: n, seedBase, chunkSize: trainingBatch,
    timesteps: setting.timesteps, cfg: setting.cfg, sampler: setting.sampler, samplerOptions: setting.samplerOptions,
    onProgress: (done, total) => process.stderr.write(`\r  ${setting.name}: ${done}/${total}   `),
  });
  log(`\r  ${setting.name}: FD ${result.fd.toFixed(3)} (n=${n})${result.cached ? ' cached' : ` ${result.seconds.toFixed(0)} s`}`);
  return result;
}
const handMade = (name: string, steps: number, spacing: Spacing, sampler = 'ddim', guidance = cfg): Setting => ({
  name, handle, timesteps: computeTimesteps(spacing, steps, noiseSchedule), cfg: guidance, sampler, samplerOptions: {},
});

// The best hand-made 4-step setting, picked on held-out seeds (not the bench seeds).
log(`picking the best hand-made 4-step setting on ${tuneSamples} held-out images...`);
const candidates: Setting[] = [];
for (const sampler of ['ddim', 'dpmpp_2m']) {
  for (const spacing of [{ kind: 'trailing' }, { kind: 'karras', rho: 7 }, { kind: 'logsnr' }] as Spacing[]) {
    for (const guidance of [1.5, 2]) candidates.push(handMade(`${sampler} ${spacing.kind} cfg ${guidance}`, 4, spacing, sampler, guidance));
  }
}
let best = candidates[0];
let bestFd = Infinity;
for (const candidate of candidates) {
  const { fd } = await measure(candidate, tuneSamples, SEED_RANGES.heldOut);
  if (fd < bestFd) [best, bestFd] = [candidate, fd];
}

// The baseline's guidance, tuned the same way: the strongest many-step setting to beat.
const baselineSteps = Number(values['baseline-steps']);
const baselineGuidances = values['baseline-cfgs'].split(',').map(Number).filter((g) => g > 0 && g !== cfg);
let bestBaseline: Setting | undefined;
if (baselineGuidances.length > 0) {
  log(`picking the ${baselineSteps}-step guidance among ${[cfg, ...baselineGuidances].join(', ')} on ${tuneSamples} held-out images...`);
  let bestBaselineFd = Infinity;
  for (const guidance of [cfg, ...baselineGuidances]) {
    const candidate = handMade(`${baselineSteps}-step ddim cfg ${guidance}`, baselineSteps, { kind: 'trailing' }, 'ddim', guidance);
    const { fd } = await measure(candidate, tuneSamples, SEED_RANGES.heldOut);
    if (fd < bestBaselineFd) [bestBaseline, bestBaselineFd] = [candidate, fd];
  }
}

const rows: Array<{ label: string; setting?: Setting; note?: string }> = [
  { label: `${baselineSteps}-step DDIM (baseline)`, setting: handMade('baseline', baselineSteps, { kind: 'trailing' }) },
  ...(bestBaseline && bestBaseline.cfg !== cfg ? [{ label: `${baselineSteps}-step DDIM, guidance tuned (cfg ${String(bestBaseline.cfg)}, best of ${[cfg, ...baselineGuidances].join('/')} on held-out seeds)`, setting: bestBaseline }] : []),
  { label: '4-step DDIM, uniform (trailing)', setting: handMade('uniform', 4, { kind: 'trailing' }) },
  { label: `best hand-made 4-step: ${best.name}`, setting: best },
];
const fromWorkflow = (name: string, s: SamplingSettings, withHandle = s.handle): Setting => ({ name, handle: withHandle, timesteps: s.timesteps, cfg: s.cfg, sampler: s.sampler, samplerOptions: s.samplerOptions });
if (learned) {
  rows.push({ label: 'RL-learned 4-step', setting: fromWorkflow('learned', learned) });
  if (existsSync(values['learned-skip'])) {
    const joint = await workflowSampling(setup, values['learned-skip']);
    rows.push({ label: `RL-learned 4-step with skipping, trained with SkipGate in the loop (${joint.handle.skip?.description ?? 'skips nothing'})`, setting: fromWorkflow('learned with skips', joint) });
  } else rows.push({ label: 'RL-learned 4-step with skipping, trained with SkipGate in the loop', note: `not trained (${path.relative(root, values['learned-skip'])} is missing)` });
  if (existsSync(values.skip)) {
    const skip = await workflowSampling(setup, values.skip);
    rows.push(skip.handle.skip
      ? { label: `RL-learned 4-step + SkipGate's shipped setting (${skip.handle.skip.description})`, setting: fromWorkflow('learned + shipped skip', learned, skip.handle) }
      : { label: "RL-learned 4-step + SkipGate's shipped setting", note: `${path.basename(values.skip)} skips nothing` });
  }
} else rows.push({ label: 'RL-learned 4-step', note: `not trained yet (${path.relative(root, values.learned)} is missing)` });

// The many-step rows last: they cost ~25x a 4-step row, and another bench may be filling their cache entries meanwhile.
const results: Array<EvaluationResult | undefined> = new Array(rows.length);
const manyStep = rows.flatMap((row, i) => (row.setting && row.setting.timesteps.length === baselineSteps ? [i] : []));
for (const index of [...rows.keys()].filter((i) => !manyStep.includes(i)).concat(manyStep.reverse())) {
  const row = rows[index];
  results[index] = row.setting ? await measure(row.setting, samples, SEED_RANGES.bench) : undefined;
}
const baseline = results[0]!;
const reward = (r: EvaluationResult) => trainedWeights.confidence * r.meanConfidence - trainedWeights.fd * r.chunkFd;
const table = rows.map((row, i) => {
  const r = results[i];
  if (!r) return [row.label, '-', '-', '-', '-', '-', '-', '-', '-', row.note ?? ''];
  return [
    row.label,
    reward(r).toFixed(3),
    r.fd.toFixed(3),
    `${(r.agreement * 100).toFixed(1)}%`,
    String(r.nfe),
    `${(r.flopsPerImage / 1e9).toFixed(2)} G`,
    `${r.seconds.toFixed(1)} s${r.cached ? '*' : ''}`,
    `${(r.imagesPerSecond / baseline.imagesPerSecond).toFixed(1)}x`,
    `${(baseline.flopsPerImage / r.flopsPerImage).toFixed(1)}x`,
    row.setting ? `${row.setting.sampler}; t ${row.setting.timesteps.length > 6 ? `${row.setting.timesteps.length} steps` : row.setting.timesteps.map((t) => t.toFixed(0)).join(',')}; cfg ${Array.isArray(row.setting.cfg) ? row.setting.cfg.map((g) => g.toFixed(2)).join(',') : row.setting.cfg}` : '',
  ];
});
const weightsText = Object.entries(trainedWeights).filter(([, w]) => w !== 0).map(([name, w]) => `${w} x ${name === 'fd' ? `(-FD on chunks of ${trainingBatch})` : name}`).join(' + ');
const training = setup.model.manifest.training as { steps?: number } | undefined;
console.log(`model fmnist (${training?.steps ? `${training.steps} training steps` : 'training not recorded'}), n = ${samples} images from bench seeds ${SEED_RANGES.bench}.. (never used in training or tuning); classes balanced; FD floor at n=${samples}: ${setup.model.manifest.classifier?.fdFloor?.[String(samples)] ?? '-'}`);
console.log(`trained reward = ${weightsText || '-'}; best hand-made picked among ${candidates.length} settings on ${tuneSamples} held-out images`);
console.log('');
console.log(markdownTable(['setting', 'trained reward', `FD (n=${samples})`, 'agreement', 'NFE', 'FLOPs/image', 'wall time', 'speed-up (images/s)', 'FLOPs ratio', 'details'], table));
console.log('');
console.log('* cached: wall time of the run that computed it. Speed-up is the ratio of generation throughput (images/s) to the baseline\'s.');
await setup.store.dispose();
