/** The skip settings bench/skip.ts compares, by name. */
import { readFileSync } from 'node:fs';
import { type SkipConfig, skipConfigIssues } from '../../../engine/skip/index.ts';
import { fullRow, range, type SkipBench } from './context.ts';

/** The settings the tables compare. Masks with 4 rows stretch over 8 and 20 steps. */
export function namedSettings(
  bench: SkipBench,
  steps: number,
  only: string,
  extra: readonly NamedSetting[] = [],
): Array<{ name: string; config: SkipConfig | null }> {
  const { blocks } = bench;
  const middle = `RR${'C'.repeat(blocks - 4)}RR`;
  const list: Array<{ name: string; config: SkipConfig | null }> = [
    { name: 'off', config: null },
    { name: 'naive reuse of middle blocks', config: { policy: { kind: 'mask', rows: [fullRow(bench), ...Array.from({ length: steps - 1 }, () => middle)] } } },
    // Relative input changes between steps are 0.3-0.6 at 4 steps and ~0.07 at 20 (measured on
    // the default model), so one threshold cannot serve both: 0.1 for many steps, 0.4 for few.
    {
      name: 'change<0.1 reuse',
      config: { policy: { kind: 'change', threshold: 0.1, start: 0.25, end: 1, maxConsecutive: 1, blocks: range(1, blocks - 2), action: 'reuse' } },
    },
    {
      name: 'change<0.4 reuse',
      config: { policy: { kind: 'change', threshold: 0.4, start: 0.25, end: 1, maxConsecutive: 1, blocks: range(1, blocks - 2), action: 'reuse' } },
    },
    {
      name: 'change<0.4 drop',
      config: { policy: { kind: 'change', threshold: 0.4, start: 0.25, end: 1, maxConsecutive: 1, blocks: range(1, blocks - 2), action: 'drop' } },
    },
    { name: 'uncond pass skipped at last quarter', config: { policy: { kind: 'none' }, guidance: { uncondPass: 'RRRS' } } },
    { name: 'uncond pass reused at last quarter', config: { policy: { kind: 'none' }, guidance: { uncondPass: 'RRRC' } } },
    { name: 'uncond pass reused (x0) at last quarter', config: { policy: { kind: 'none' }, guidance: { uncondPass: 'RRRX' } } },
    ...TUNED.map((t) => ({ name: t.name, config: t.config })),
    ...WIDE.map((t) => ({ name: t.name, config: t.config })),
  ];
  // Settings from --configs always run: naming them was the choice.
  return [...list.filter((s) => !only || s.name === 'off' || only.split(',').some((o) => s.name.includes(o))), ...extra];
}

/**
 * Settings found by `--tables search --start-pass RRRX --probe 32` on tuning seeds (from
 * 2,500,000) of an early checkpoint (535 training steps, exported with --models): A at the 18%
 * budget, B at 24-30% (the search's next move was the pass at step 2, so it lands at 32%).
 * The final model saw them only on bench seeds; a search on the final model is still to do.
 */
export const TUNED: Array<{ name: string; config: SkipConfig }> = [
  {
    name: 'tuned A',
    config: {
      policy: { kind: 'mask', rows: ['RRRRRRRRRR', 'RRRDRRRRRR', 'RRRRRRRRRR', 'RRRRRRRRRR'] },
      guidance: { uncondRows: ['SSSRRRRRRR', 'SRRDRRRRRR', 'RRRRRRRRRR', 'RRRRRRRRRR'], uncondPass: 'RRRX' },
    },
  },
  {
    name: 'tuned B',
    config: {
      policy: { kind: 'mask', rows: ['RRRRRRRRRR', 'RRRDRRRRRR', 'RRRRRRRRRR', 'RRRRRRRRRR'] },
      guidance: { uncondRows: ['SSSDRDRRRR', 'SSRDRRRRRR', 'RRRRRRRRRR', 'RRRRRRRRRR'], uncondPass: 'RSRX' },
    },
  },
];

/**
 * Settings that save half the FLOPs at 4 steps with four-step.json's sampler (dpmpp_2m, cfg 1.5),
 * built by hand from `--tables search --cfg 1.5` and the candidates in bench/skip-candidates-cfg1.5.json
 * (RESULTS.md, "Skipping half"): the unconditional pass runs at steps 1-2 only (every block
 * dropped at step 1) and its guidance direction is reused in clean-image units at steps 3-4;
 * blocks dropped in the conditional half. B ships (SkipGate's default, four-step-skip.json).
 */
const wide = (cond: string, uncond: string): SkipConfig => ({
  policy: { kind: 'mask', rows: cond.split('/') },
  guidance: { uncondRows: uncond.split('/'), uncondPass: 'RRXX' },
});
export const WIDE: Array<{ name: string; config: SkipConfig }> = [
  { name: 'wide A', config: wide('RDDDDRRRRR/RRRRRRRRRR/RRDRRRRRRR/RRDDRRRRRR', 'DDDDDDDDDD/SSSSSRRRRR/RRRRRRRRRR/RRRRRRRRRR') },
  { name: 'wide B', config: wide('RDDDDRRRRR/RRRRRRRRRR/RRDDRRRRRR/RRDDDRRRRR', 'DDDDDDDDDD/SSSRRRRRRR/RRRRRRRRRR/RRRRRRRRRR') },
  { name: 'wide C', config: wide('RDDDDDRRRR/RRRRRRRRRR/RRDRRRRRRR/RRDDRRRRRR', 'DDDDDDDDDD/SSSSRRRRRR/RRRRRRRRRR/RRRRRRRRRR') },
];

export interface NamedSetting {
  name: string;
  config: SkipConfig;
  /** Seed sets to measure it on (default: one). */
  sets?: number;
}

/** Settings from a JSON file (--configs): [{ name, config, sets? }], each config checked against the model. */
export function settingsFromFile(file: string, blocks: number): NamedSetting[] {
  const list = JSON.parse(readFileSync(file, 'utf8')) as NamedSetting[];
  if (!Array.isArray(list)) throw new Error(`${file}: expected a JSON array of { name, config }`);
  for (const [i, entry] of list.entries()) {
    const issues = typeof entry?.name === 'string' ? skipConfigIssues(entry.config, blocks) : [{ field: 'name', message: 'missing' }];
    if (issues.length > 0) throw new Error(`${file}: entry ${i}: ${issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')}`);
  }
  return list;
}

/** Whether a setting also runs at `steps` > 4 (--long, ';'-separated, NAME or NAME@STEPS; 'tuned' = every tuned one). */
export function runsLong(long: string, name: string, steps: number): boolean {
  const names = long.split(';');
  return names.includes(name) || names.includes(`${name}@${steps}`) || (names.includes('tuned') && TUNED.some((t) => t.name === name));
}
