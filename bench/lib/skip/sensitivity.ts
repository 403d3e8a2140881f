/**
 * Sensitivity: per step and block, on tuning seeds, how far the final images' classifier
 * features move when that one block is dropped (both halves, or only the unconditional half),
 * shared across halves or reused, and when the unconditional pass is skipped or replaced by the
 * last guidance direction. Cached in bench/.cache per model, steps, probe size and sampler.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from '../../../engine/sampling/generate.ts';
import type { SkipConfig } from '../../../engine/skip/index.ts';
import { log, range, rowsWith, TUNING_SEED, type SkipBench } from './context.ts';

export interface Sensitivity {
  steps: number;
  probe: number;
  /** [step][block]: mean feature distance of final images to the unskipped ones. */
  dropBoth: number[][];
  dropUncond: number[][];
  /** [step][block]: the unconditional half shares the conditional half's residual. */
  shareUncond: number[][];
  reuseBoth: number[][];
  /** [step]: the unconditional pass skipped (S) or reused (C) at that step. */
  passSkip: number[];
  passReuse: number[];
  passReuseX0: number[];
  /** Mean distance between features of different unskipped images, for scale. */
  scale: number;
}

export async function probeFeatures(bench: SkipBench, config: SkipConfig | null, steps: number, count: number): Promise<Float32Array> {
  const labels = Array.from({ length: count }, (_, j) => j % bench.classes);
  const result = await generate({
    handle: bench.handleFor(config),
    labels,
    seed: TUNING_SEED,
    cfg: bench.cfg,
    sampler: bench.sampler,
    timesteps: bench.timestepsFor(steps),
  });
  const scored = await bench.classifier.classify(result.images);
  return Float32Array.from(scored.features);
}

export function meanDistance(a: Float32Array, b: Float32Array, count: number): number {
  const dim = a.length / count;
  let total = 0;
  for (let i = 0; i < count; i++) {
    let sq = 0;
    for (let k = 0; k < dim; k++) sq += (a[i * dim + k] - b[i * dim + k]) ** 2;
    total += Math.sqrt(sq);
  }
  return total / count;
}

export async function sensitivity(bench: SkipBench, steps: number, count: number): Promise<Sensitivity> {
  const { blocks, cacheDir } = bench;
  const file = path.join(cacheDir, `skip-sensitivity-v3-${bench.modelHash}-${steps}-${count}-${bench.cfg}-${bench.sampler}.json`);
  // JSON writes NaN (not measured) as null: read it back as NaN.
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'), (_key, value) => (value === null ? NaN : value));
  const base = await probeFeatures(bench, null, steps, count);
  const shifted = base.slice(base.length / count);
  const scale = meanDistance(base.subarray(0, shifted.length), shifted, count - 1);
  const distanceOf = async (config: SkipConfig) => meanDistance(await probeFeatures(bench, config, steps, count), base, count);
  const table = async (what: string, make: (s: number, b: number) => SkipConfig | null) => {
    const out: number[][] = [];
    for (let s = 0; s < steps; s++) {
      const row: number[] = [];
      for (let b = 0; b < blocks; b++) {
        const config = make(s, b);
        row.push(config ? await distanceOf(config) : NaN);
      }
      out.push(row);
      log(`  ${what} step ${s}: ${row.map((d) => d.toFixed(2)).join(' ')}`);
    }
    return out;
  };
  const result: Sensitivity = {
    steps,
    probe: count,
    scale,
    dropBoth: await table('drop both', (s, b) => ({ policy: { kind: 'mask', rows: rowsWith(bench, steps, s, b, 'D') } })),
    dropUncond: await table('drop uncond', (s, b) => ({ policy: { kind: 'none' }, guidance: { uncondRows: rowsWith(bench, steps, s, b, 'D') } })),
    shareUncond: await table('share uncond', (s, b) => ({ policy: { kind: 'none' }, guidance: { uncondRows: rowsWith(bench, steps, s, b, 'S') } })),
    reuseBoth: await table('reuse both', (s, b) => (s === 0 ? null : { policy: { kind: 'mask', rows: rowsWith(bench, steps, s, b, 'C') } })),
    passSkip: [],
    passReuse: [],
    passReuseX0: [],
  };
  for (let s = 0; s < steps; s++) {
    const pass = (ch: string) => Array.from({ length: steps }, (_, i) => (i === s ? ch : 'R')).join('');
    result.passSkip.push(await distanceOf({ policy: { kind: 'none' }, guidance: { uncondPass: pass('S') } }));
    result.passReuse.push(s === 0 ? NaN : await distanceOf({ policy: { kind: 'none' }, guidance: { uncondPass: pass('C') } }));
    result.passReuseX0.push(s === 0 ? NaN : await distanceOf({ policy: { kind: 'none' }, guidance: { uncondPass: pass('X') } }));
  }
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(file, JSON.stringify(result));
  return result;
}

export function printSensitivity(bench: SkipBench, sens: Sensitivity): void {
  const out = [
    `Sensitivity at ${sens.steps} steps (${sens.probe} images, tuning seeds from ${TUNING_SEED}): mean classifier-feature distance of the final images to the unskipped ones; for scale, two different unskipped images are ${sens.scale.toFixed(2)} apart.`,
  ];
  const grid = (title: string, table: number[][]) => {
    out.push(
      '',
      title,
      '',
      `| step | ${range(0, bench.blocks - 1)
        .map((b) => `b${b}`)
        .join(' | ')} |`,
      `|---|${'---|'.repeat(bench.blocks)}`,
    );
    table.forEach((row, s) => out.push(`| ${s} | ${row.map((d) => (Number.isNaN(d) ? '-' : d.toFixed(2))).join(' | ')} |`));
  };
  grid('Drop one block, both halves:', sens.dropBoth);
  grid('Drop one block, unconditional half only:', sens.dropUncond);
  grid("Unconditional half shares the conditional half's residual at one block:", sens.shareUncond);
  grid("Reuse one block's residual from the previous step, both halves:", sens.reuseBoth);
  out.push('', `Unconditional pass skipped at one step (S): ${sens.passSkip.map((d, s) => `step ${s}: ${d.toFixed(2)}`).join(', ')}`);
  out.push(
    `Unconditional pass reusing the last guidance direction (C): ${sens.passReuse.map((d, s) => `step ${s}: ${Number.isNaN(d) ? '-' : d.toFixed(2)}`).join(', ')}`,
  );
  out.push(
    `Unconditional pass reusing it in clean-image units (X): ${sens.passReuseX0.map((d, s) => `step ${s}: ${Number.isNaN(d) ? '-' : d.toFixed(2)}`).join(', ')}`,
  );
  console.log(out.join('\n'));
}
