/**
 * Static masks: one row per sampling step, one character per block.
 *   R  run the block
 *   C  reuse the residual the block produced when it last ran (runs if it never ran)
 *   D  drop the block (identity; the default model was trained with stochastic depth)
 *   S  unconditional half only: share the residual the conditional partner got at this step
 *      (free; means "no guidance through this block"); on conditional elements S runs
 * Rows are written "RRRRRRRRRR/RRDDRRRRRR/..." (separated by '/', ',', ';' or white space).
 * A mask with fewer or more rows than the run has steps is stretched over the run by fraction.
 */
import Type from 'typebox';
import { rowForStep, type BlockAction, type SkipPolicy, type SkipRun } from './policy.ts';

export const MaskRow = Type.String({
  pattern: '^[RCDSrcds]+$',
  description: "One character per block: R run, C reuse cached residual, D drop, S share the conditional half's residual (unconditional half).",
});
export const MaskRows = Type.Array(MaskRow, { minItems: 1 });

export const MaskPolicyConfig = Type.Object({ kind: Type.Literal('mask'), rows: MaskRows }, { description: 'A fixed step x block table of actions.' });
export type MaskPolicyConfig = Type.Static<typeof MaskPolicyConfig>;

const ACTION_OF: Record<string, BlockAction> = { R: 'run', C: 'reuse', D: 'drop', S: 'share' };
const CHAR_OF: Record<BlockAction, string> = { run: 'R', reuse: 'C', drop: 'D', share: 'S' };

/** Splits a widget string into rows; empty text gives no rows. */
export function splitRows(text: string): string[] {
  return text.split(/[\s/,;]+/).filter(Boolean);
}

export function formatRows(rows: readonly (readonly BlockAction[])[]): string {
  return rows.map((row) => row.map((action) => CHAR_OF[action]).join('')).join('/');
}

/** Problems with a mask's shape for a model with `blocks` blocks, worded for people. */
export function maskIssues(rows: readonly string[], blocks: number): string[] {
  const issues: string[] = [];
  if (rows.length === 0) issues.push('has no rows (one per step, e.g. "RRRRRRRRRR/RRDDRRRRRR")');
  rows.forEach((row, step) => {
    const bad = [...row].find((char) => !(char.toUpperCase() in ACTION_OF));
    if (bad !== undefined)
      issues.push(`row ${step + 1} ("${row}") has "${bad}": use R (run), C (reuse cached residual), D (drop) or S (share the conditional half's residual)`);
    else if (row.length !== blocks)
      issues.push(`row ${step + 1} ("${row}") has ${row.length} entries, but the model has ${blocks} blocks (one character per block)`);
  });
  return issues;
}

export function parseMaskRows(rows: readonly string[]): BlockAction[][] {
  return rows.map((row) => [...row].map((char) => ACTION_OF[char.toUpperCase()]));
}

/** A policy that follows a table of actions; 'reuse' before a block ever ran falls back to 'run'. */
export function maskPolicy(table: readonly (readonly BlockAction[])[]): SkipPolicy {
  const reused = new Set(table.flatMap((row) => row.flatMap((action, block) => (action === 'reuse' ? [block] : []))));
  return {
    start(): SkipRun {
      return {
        needsResidual: (block) => reused.has(block),
        runsEveryBlock(step, steps, half) {
          if (reused.size > 0) return false;
          // On conditional elements S runs (see decide).
          return table[rowForStep(step, steps, table.length)].every((action) => action === 'run' || (half === 'cond' && action === 'share'));
        },
        decide(query, element, hasResidual) {
          const action = table[rowForStep(query.step, query.steps, table.length)][query.block] ?? 'run';
          if (action === 'share' && !query.isUncond(element)) return 'run';
          return action === 'reuse' && !hasResidual ? 'run' : action;
        },
      };
    },
  };
}
