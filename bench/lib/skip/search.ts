/**
 * Finding skip settings from the sensitivities: a greedy selection that assumes damages add
 * (they do not), and a greedy search that measures every move on the probe images.
 */
import type { SkipConfig } from '../../../engine/skip/index.ts';
import { fullRow, log, pct, type SkipBench } from './context.ts';
import { meanDistance, probeFeatures, type Sensitivity } from './sensitivity.ts';

/** Least damage per FLOP first, until `budget` of the full FLOPs is saved. Assumes damages add. */
export function greedySetting(bench: SkipBench, sens: Sensitivity, budget: number, allowPass = true): { config: SkipConfig; assumed: number } {
  const { blocks } = bench;
  const { embed, head, blocks: blockFlops } = bench.model.flops;
  const perEval = embed + head + blockFlops.reduce((a, b) => a + b, 0);
  const total = 2 * sens.steps * perEval;
  type Candidate = { cost: number; saving: number; apply: () => void; taken: () => boolean };
  const cond = Array.from({ length: sens.steps }, () => [...fullRow(bench)]);
  const uncond = Array.from({ length: sens.steps }, () => [...fullRow(bench)]);
  const pass = [...'R'.repeat(sens.steps)];
  const candidates: Candidate[] = [];
  for (let s = 0; s < sens.steps; s++) {
    for (let b = 0; b < blocks; b++) {
      const both = (ch: string) => () => {
        cond[s][b] = ch;
        uncond[s][b] = ch;
      };
      candidates.push({ cost: sens.dropBoth[s][b], saving: 2 * blockFlops[b], apply: both('D'), taken: () => cond[s][b] !== 'R' });
      if (s > 0) candidates.push({ cost: sens.reuseBoth[s][b], saving: 2 * blockFlops[b], apply: both('C'), taken: () => cond[s][b] !== 'R' });
      candidates.push({
        cost: sens.dropUncond[s][b],
        saving: blockFlops[b],
        apply: () => (uncond[s][b] = 'D'),
        taken: () => uncond[s][b] !== 'R' || pass[s] !== 'R',
      });
      candidates.push({
        cost: sens.shareUncond[s][b],
        saving: blockFlops[b],
        apply: () => (uncond[s][b] = 'S'),
        taken: () => uncond[s][b] !== 'R' || pass[s] !== 'R',
      });
    }
    if (allowPass) {
      const reuse = !Number.isNaN(sens.passReuse[s]) && sens.passReuse[s] < sens.passSkip[s];
      candidates.push({
        cost: reuse ? sens.passReuse[s] : sens.passSkip[s],
        saving: perEval,
        apply: () => (pass[s] = reuse ? 'C' : 'S'),
        taken: () => pass[s] !== 'R',
      });
    }
  }
  candidates.sort((a, b) => a.cost / a.saving - b.cost / b.saving);
  const skipped = (row: string[]) => row.reduce((n, ch, b) => n + (ch !== 'R' ? blockFlops[b] : 0), 0);
  let saved = 0;
  let assumed = 0;
  for (const candidate of candidates) {
    if (saved >= budget * total) break;
    if (candidate.taken()) continue;
    candidate.apply();
    assumed += candidate.cost;
    saved = cond.reduce((sum, row) => sum + skipped(row), 0) + uncond.reduce((sum, row, s) => sum + (pass[s] !== 'R' ? perEval : skipped(row)), 0);
  }
  const passString = pass.join('');
  const config: SkipConfig = {
    policy: { kind: 'mask', rows: cond.map((r) => r.join('')) },
    guidance: { uncondRows: uncond.map((r) => r.join('')), ...(passString.includes('S') || passString.includes('C') ? { uncondPass: passString } : {}) },
  };
  return { config, assumed };
}

/** A setting under construction: per step, the actions of each half and the unconditional pass. */
interface Draft {
  cond: string[][];
  uncond: string[][];
  pass: string[];
}

function draftConfig(d: Draft): SkipConfig {
  const pass = d.pass.join('');
  return {
    policy: { kind: 'mask', rows: d.cond.map((r) => r.join('')) },
    guidance: { uncondRows: d.uncond.map((r) => r.join('')), ...(/[SCX]/.test(pass) ? { uncondPass: pass } : {}) },
  };
}

function draftSaved(bench: SkipBench, d: Draft): number {
  const { embed, head, blocks: blockFlops } = bench.model.flops;
  const perEval = embed + head + blockFlops.reduce((a, b) => a + b, 0);
  const skipped = (row: string[]) => row.reduce((n, ch, b) => n + (ch !== 'R' ? blockFlops[b] : 0), 0);
  const saved = d.cond.reduce((sum, row) => sum + skipped(row), 0) + d.uncond.reduce((sum, row, s) => sum + (d.pass[s] !== 'R' ? perEval : skipped(row)), 0);
  return saved / (2 * d.cond.length * perEval);
}

/**
 * Greedy search that measures: from the unskipped setting, repeatedly try the `width` cheapest
 * untaken entries (by single-entry damage per FLOP), measure each combined with what is taken
 * (paired feature distance on the probe images), and keep the one that adds the least damage
 * per FLOP saved. Damages do not add (skipping the unconditional pass at two steps is far worse
 * than the sum), which is why each step is measured.
 */
export interface SearchOptions {
  /** Probe images per measurement. */
  probe: number;
  /** Untaken entries tried per move. */
  width: number;
  /** Whether whole unconditional passes may be skipped. */
  pass: boolean;
  /** The unconditional passes the search starts from, e.g. RRRX ('' = all run). */
  startPass: string;
}

export type SearchTrajectory = Array<{ saved: number; distance: number; config: SkipConfig; move: string }>;

export async function searchSettings(bench: SkipBench, sens: Sensitivity, steps: number, maxSaved: number, options: SearchOptions): Promise<SearchTrajectory> {
  const { blocks } = bench;
  const { probe, width } = options;
  const base = await probeFeatures(bench, null, steps, probe);
  const { blocks: blockFlops } = bench.model.flops;
  const draft: Draft = {
    cond: Array.from({ length: steps }, () => [...fullRow(bench)]),
    uncond: Array.from({ length: steps }, () => [...fullRow(bench)]),
    pass: [...(options.startPass || 'R'.repeat(steps))],
  };
  type Move = { cost: number; saving: number; key: string; apply: (d: Draft) => void; open: (d: Draft) => boolean };
  const moves: Move[] = [];
  for (let s = 0; s < steps; s++) {
    for (let b = 0; b < blocks; b++) {
      const both = (ch: string) => (d: Draft) => {
        d.cond[s][b] = ch;
        d.uncond[s][b] = ch;
      };
      moves.push({ key: `D${s}.${b}`, cost: sens.dropBoth[s][b], saving: 2 * blockFlops[b], apply: both('D'), open: (d) => d.cond[s][b] === 'R' });
      if (s > 0) moves.push({ key: `C${s}.${b}`, cost: sens.reuseBoth[s][b], saving: 2 * blockFlops[b], apply: both('C'), open: (d) => d.cond[s][b] === 'R' });
      moves.push({
        key: `uD${s}.${b}`,
        cost: sens.dropUncond[s][b],
        saving: blockFlops[b],
        apply: (d) => (d.uncond[s][b] = 'D'),
        open: (d) => d.uncond[s][b] === 'R' && d.pass[s] === 'R',
      });
      moves.push({
        key: `uS${s}.${b}`,
        cost: sens.shareUncond[s][b],
        saving: blockFlops[b],
        apply: (d) => (d.uncond[s][b] = 'S'),
        open: (d) => d.uncond[s][b] === 'R' && d.pass[s] === 'R',
      });
    }
    const perEval = bench.model.flops.total;
    if (!options.pass) continue;
    moves.push({ key: `pS${s}`, cost: sens.passSkip[s], saving: perEval, apply: (d) => (d.pass[s] = 'S'), open: (d) => d.pass[s] === 'R' });
    if (s > 0) moves.push({ key: `pC${s}`, cost: sens.passReuse[s], saving: perEval, apply: (d) => (d.pass[s] = 'C'), open: (d) => d.pass[s] === 'R' });
    if (s > 0) moves.push({ key: `pX${s}`, cost: sens.passReuseX0[s], saving: perEval, apply: (d) => (d.pass[s] = 'X'), open: (d) => d.pass[s] === 'R' });
  }
  moves.sort((a, b) => a.cost / a.saving - b.cost / b.saving);
  const clone = (d: Draft): Draft => ({ cond: d.cond.map((r) => [...r]), uncond: d.uncond.map((r) => [...r]), pass: [...d.pass] });
  const trajectory: SearchTrajectory = [];
  let state = draft;
  let current = options.startPass ? meanDistance(await probeFeatures(bench, draftConfig(state), steps, probe), base, probe) : 0;
  while (draftSaved(bench, state) < maxSaved) {
    const tries = moves.filter((m) => m.open(state)).slice(0, width);
    if (tries.length === 0) break;
    let best: { next: Draft; distance: number; score: number; key: string } | undefined;
    for (const move of tries) {
      const next = clone(state);
      move.apply(next);
      const distance = meanDistance(await probeFeatures(bench, draftConfig(next), steps, probe), base, probe);
      const score = (distance - current) / (draftSaved(bench, next) - draftSaved(bench, state));
      if (!best || score < best.score) best = { next, distance, score, key: move.key };
    }
    state = best!.next;
    current = best!.distance;
    trajectory.push({ saved: draftSaved(bench, state), distance: current, config: draftConfig(state), move: best!.key });
    log(`  search: +${best!.key} -> saved ${pct(draftSaved(bench, state))}, paired distance ${current.toFixed(3)}`);
  }
  return trajectory;
}
