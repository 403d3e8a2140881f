/**
 * One-shot CLI runs: does the batch split over worker threads pay off in a single `fewstep run`?
 * Each measurement is a fresh process of the real CLI (`bin/fewstep.mjs run workflows/four-step.json
 * --set FewStepSampler.batch_size=N --json`), timed from spawn to exit, with the sampler's own
 * seconds from its --json stats; the ways of running are interleaved, their order rotated each round:
 *  - split after 1 s: FEWSTEP_SPLIT_AFTER_SECONDS=1, the engine's default for a model (the worker
 *    threads start after a second of model work; the server's way, and the CLI's before);
 *  - one session: FEWSTEP_ORT_WORKERS=1 (no worker threads; what `fewstep run` does by default);
 *  - split at load: FEWSTEP_SPLIT_AFTER_SECONDS=0 (the workers start with the model).
 * `node --import tsx bench/one-shot.ts [--batches 16,64,256] [--rounds 3]`
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '16,64,256' }, rounds: { type: 'string', default: '3' } } });
const batches = values.batches.split(',').map(Number);
const rounds = Number(values.rounds);
const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/fewstep.mjs');

const modes = {
  'split after 1 s': { FEWSTEP_SPLIT_AFTER_SECONDS: '1' },
  'one session': { FEWSTEP_ORT_WORKERS: '1' },
  'split at load': { FEWSTEP_SPLIT_AFTER_SECONDS: '0' },
} satisfies Record<string, Record<string, string>>;
type Mode = keyof typeof modes;

interface Sample {
  wall: number;
  sampler: number;
}

function runOnce(batch: number, mode: Mode): Promise<Sample> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'fewstep-one-shot-'));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'run', 'workflows/four-step.json', '--out', out, '--json', '--set', `FewStepSampler.batch_size=${batch}`], {
      cwd: root,
      env: { ...process.env, ...modes[mode] },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - started) / 1000;
      rmSync(out, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`${mode}, batch ${batch}: exit ${code}`));
      const report = JSON.parse(stdout) as { stats: Record<string, { seconds?: number }> };
      const sampler = Object.values(report.stats).find((stats) => typeof stats.seconds === 'number')?.seconds ?? Number.NaN;
      resolve({ wall, sampler });
    });
  });
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const names = Object.keys(modes) as Mode[];
const samples = new Map<string, Sample[]>();
for (let round = 0; round < rounds; round++) {
  for (const batch of batches) {
    // Rotated each round, so no way of running always goes first (or right after another's exit).
    for (let k = 0; k < names.length; k++) {
      const mode = names[(k + round) % names.length];
      const sample = await runOnce(batch, mode);
      const key = `${batch}\0${mode}`;
      samples.set(key, [...(samples.get(key) ?? []), sample]);
      process.stderr.write(
        `round ${round + 1}/${rounds} batch ${batch} ${mode}: ${sample.wall.toFixed(2)} s process, ${sample.sampler.toFixed(2)} s sampling\n`,
      );
    }
  }
}

console.log(
  `\nfewstep run workflows/four-step.json (4 steps, dpmpp_2m, cfg 1.5), one process per run; ${os.availableParallelism()} cores; median of ${rounds} interleaved rounds`,
);
console.log('\n| batch | way | process s | sampling s | process vs one session | sampling vs one session |');
console.log('|---|---|---|---|---|---|');
for (const batch of batches) {
  const base = samples.get(`${batch}\0one session`)!;
  for (const mode of names) {
    const runs = samples.get(`${batch}\0${mode}`)!;
    const wall = median(runs.map((s) => s.wall));
    const sampler = median(runs.map((s) => s.sampler));
    console.log(
      `| ${batch} | ${mode} | ${wall.toFixed(2)} | ${sampler.toFixed(2)} | ${(wall / median(base.map((s) => s.wall))).toFixed(2)}x | ${(sampler / median(base.map((s) => s.sampler))).toFixed(2)}x |`,
    );
  }
}
