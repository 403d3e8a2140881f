/**
 * A skip setting as one JSON object (what SkipGate builds from its widgets, what a benchmark or
 * the RL trainer writes): a block policy for the batch, plus the guidance lever for the
 * unconditional half, counted separately by the accounting.
 */
import Type from 'typebox';
import Value from 'typebox/value';
import { ChangePolicyConfig, changePolicy } from './change.ts';
import { greedyGateMask, LearnedGateParams } from './learned.ts';
import { formatRows, maskIssues, maskPolicy, MaskPolicyConfig, MaskRows, parseMaskRows } from './mask.ts';
import { rowForStep, type BlockAction, type SkipPolicy, type SkipRun, type SkipSettings, type UncondPass } from './policy.ts';

export const NoSkipConfig = Type.Object({ kind: Type.Literal('none') }, { description: 'Run every block.' });

export const GuidanceConfig = Type.Object({
  uncondRows: Type.Optional(MaskRows),
  uncondPass: Type.Optional(
    Type.String({
      pattern: '^[RSCXrscx]+$',
      description:
        'One character per step: R run the unconditional pass, S skip it (guidance off that step), C skip it and reuse the last guidance direction, X the same rescaled to move the clean image as much as it did.',
    }),
  ),
});
export type GuidanceConfig = Type.Static<typeof GuidanceConfig>;

export const SkipConfig = Type.Object({
  policy: Type.Union([NoSkipConfig, MaskPolicyConfig, ChangePolicyConfig, LearnedGateParams]),
  guidance: Type.Optional(GuidanceConfig),
});
export type SkipConfig = Type.Static<typeof SkipConfig>;

export interface SkipConfigIssue {
  /** Path inside the config: 'policy/rows', 'policy/blocks', 'guidance/uncondPass', ... */
  field: string;
  message: string;
}

const PASS_OF: Record<string, UncondPass> = { R: 'run', S: 'skip', C: 'reuse', X: 'reuse-x0' };

/** Everything wrong with a config for a model with `blocks` blocks, reported at once. */
export function skipConfigIssues(config: unknown, blocks: number): SkipConfigIssue[] {
  // Shape problems first, in words about masks and blocks; the schema's own errors only when
  // they say something the shape check did not (a bad character fails both).
  const issues = shapeIssues(config as Partial<SkipConfig>, blocks);
  if (issues.length > 0 || Value.Check(SkipConfig, config)) return issues;
  return [...Value.Errors(SkipConfig, config)]
    .slice(0, 5)
    .map((error) => ({ field: error.instancePath.replace(/^\//, '') || '(root)', message: error.message }));
}

function shapeIssues(config: Partial<SkipConfig>, blocks: number): SkipConfigIssue[] {
  const issues: SkipConfigIssue[] = [];
  const policy = (config?.policy ?? {}) as Record<string, any>;
  const guidance = (config?.guidance ?? {}) as Record<string, any>;
  const strings = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');
  const range = `0..${blocks - 1}`;
  if (policy.kind === 'mask' && strings(policy.rows)) for (const message of maskIssues(policy.rows, blocks)) issues.push({ field: 'policy/rows', message });
  if (policy.kind === 'change') {
    if (Array.isArray(policy.blocks)) {
      for (const block of policy.blocks)
        if (typeof block === 'number' && block >= blocks)
          issues.push({ field: 'policy/blocks', message: `names block ${block}, but the model has ${blocks} blocks (${range})` });
    }
    if (typeof policy.start === 'number' && typeof policy.end === 'number' && policy.start >= policy.end)
      issues.push({ field: 'policy/start', message: `start ${policy.start} must be below end ${policy.end}` });
  }
  if (policy.kind === 'learned') {
    for (const field of ['logits', 'uncondLogits'] as const) {
      const table = policy[field];
      if (table === undefined) continue;
      if (!Array.isArray(table) || table.length === 0 || !table.every(Array.isArray)) {
        issues.push({ field: `policy/${field}`, message: 'must be a table of numbers: one row per step, one logit per block' });
        continue;
      }
      table.forEach((row: unknown[], step: number) => {
        if (row.length !== blocks)
          issues.push({ field: `policy/${field}`, message: `row ${step + 1} has ${row.length} logits, but the model has ${blocks} blocks` });
      });
    }
  }
  if (strings(guidance.uncondRows)) for (const message of maskIssues(guidance.uncondRows, blocks)) issues.push({ field: 'guidance/uncondRows', message });
  return issues;
}

/** Builds the policy a sampling run will use; throws when the config does not fit the model. */
export function createSkipSettings(config: SkipConfig, blocks: number): SkipSettings | null {
  const issues = skipConfigIssues(config, blocks);
  if (issues.length > 0) throw new Error(`skip setting does not fit a ${blocks}-block model: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  const { policy, guidance } = config;
  let base: SkipPolicy | null;
  let uncondTable = guidance?.uncondRows ? parseMaskRows(guidance.uncondRows) : undefined;
  if (policy.kind === 'none') base = null;
  else if (policy.kind === 'mask') base = maskPolicy(parseMaskRows(policy.rows));
  else if (policy.kind === 'change') base = changePolicy(policy);
  else {
    // Learned gates are a whole policy: their unconditional gates win over an uncond mask.
    const mask = greedyGateMask(policy);
    base = maskPolicy(mask.cond);
    if (mask.uncond) uncondTable = mask.uncond;
  }
  const passes = guidance?.uncondPass ? [...guidance.uncondPass.toUpperCase()].map((char) => PASS_OF[char]) : undefined;
  if (!base && !uncondTable && !passes?.some((pass) => pass !== 'run')) return null;
  return { policy: withGuidance(base, uncondTable, passes), description: describeSkipConfig(config), config };
}

/** Overrides the base policy for the unconditional half, and decides that half's pass per step. */
function withGuidance(base: SkipPolicy | null, uncondTable: BlockAction[][] | undefined, passes: UncondPass[] | undefined): SkipPolicy {
  const uncond = uncondTable ? maskPolicy(uncondTable) : null;
  return {
    start(blocks, batch): SkipRun {
      const baseRun = base?.start(blocks, batch);
      const uncondRun = uncond?.start(blocks, batch);
      return {
        needsResidual: (block) => Boolean(baseRun?.needsResidual(block) || uncondRun?.needsResidual(block)),
        decide(query, element, hasResidual) {
          if (uncondRun && query.isUncond(element)) return uncondRun.decide(query, element, hasResidual);
          return baseRun ? baseRun.decide(query, element, hasResidual) : 'run';
        },
        ran: baseRun?.ran ? (block, element, input) => baseRun.ran!(block, element, input) : undefined,
        uncondPass: passes ? (step, steps) => passes[rowForStep(step, steps, passes.length)] : undefined,
        runsEveryBlock(step, steps, half) {
          if (baseRun?.ran) return false;
          const deciding = half === 'uncond' && uncondRun ? uncondRun : baseRun;
          if (!deciding) return true;
          return deciding.runsEveryBlock?.(step, steps, half) ?? false;
        },
      };
    },
  };
}

export function describeSkipConfig(config: SkipConfig): string {
  const { policy, guidance } = config;
  const parts: string[] = [];
  if (policy.kind === 'mask') parts.push(`mask ${policy.rows.join('/')}`);
  if (policy.kind === 'change')
    parts.push(
      `change < ${policy.threshold} on blocks ${policy.blocks.join(',')} in [${policy.start}, ${policy.end}), ${policy.action}, max ${policy.maxConsecutive} in a row`,
    );
  if (policy.kind === 'learned') {
    // The greedy masks are what runs: describe them, so settings that run differently read differently.
    const mask = greedyGateMask(policy);
    parts.push(`learned gates ${formatRows(mask.cond)}${mask.uncond ? ` uncond ${formatRows(mask.uncond)}` : ''}`);
  }
  if (guidance?.uncondRows) parts.push(`uncond mask ${guidance.uncondRows.join('/')}`);
  if (guidance?.uncondPass) parts.push(`uncond pass ${guidance.uncondPass}`);
  return parts.join('; ') || 'no skipping';
}
