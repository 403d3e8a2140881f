import Type from 'typebox';
import { defineNode, type NodeEnvironment } from '../engine/node.ts';
import type { ModelHandle } from '../engine/sampling/model-handle.ts';
import { createSkipSettings, skipConfigIssues, splitRows, type SkipConfig } from '../engine/skip/index.ts';

/**
 * The setting SkipGate ships with: the best one measured at 4 steps with four-step.json's sampler
 * (dpmpp_2m, cfg 1.5), saving 51% of the FLOPs (bench/skip.ts, "wide B"; picked by the model's
 * classifier on bench seeds; figures in bench/RESULTS.md): the unconditional half drops every
 * block at step 1 and shares the conditional half's first three residuals at step 2, then skips
 * its pass at steps 3-4 and reuses the last guidance direction in clean-image units; blocks 1-4
 * are dropped at step 1, and 2-3 (step 3) and 2-4 (step 4) of the conditional half.
 */
export const DEFAULT_MASK = 'RDDDDRRRRR/RRRRRRRRRR/RRDDRRRRRR/RRDDDRRRRR';
export const DEFAULT_UNCOND_MASK = 'DDDDDDDDDD/SSSRRRRRRR/RRRRRRRRRR/RRRRRRRRRR';
export const DEFAULT_UNCOND_PASS = 'RRXX';

const widgets = {
  mode: Type.Union([Type.Literal('off'), Type.Literal('mask'), Type.Literal('change'), Type.Literal('learned')], {
    default: 'mask',
    description:
      'off: run every block. mask: a fixed step x block table. change: skip a block while its input changes little (TeaCache style). learned: gates learned by RL.',
  }),
  mask: Type.String({
    default: DEFAULT_MASK,
    description:
      'mask mode: one row per step ("/" between rows), one character per block: R run, C reuse the cached residual, D drop, S (unconditional half) share the conditional half\'s residual. Rows stretch over other step counts.',
  }),
  threshold: Type.Number({
    default: 0.1,
    minimum: 0,
    maximum: 10,
    step: 0.01,
    description: 'change mode: skip while the relative L1 change of the block input since it last ran is below this.',
  }),
  start: Type.Number({ default: 0.25, minimum: 0, maximum: 1, step: 0.05, description: 'change mode: skipping starts at this fraction of the steps.' }),
  end: Type.Number({ default: 1, minimum: 0, maximum: 1, step: 0.05, description: 'change mode: skipping stops at this fraction of the steps.' }),
  max_consecutive: Type.Integer({ default: 1, minimum: 1, maximum: 1000, description: 'change mode: a block runs again after this many skips in a row.' }),
  blocks: Type.String({ default: '', description: 'change mode: blocks that may be skipped, e.g. "2-7" or "1,3,5" (from 0); empty: all.' }),
  action: Type.Union([Type.Literal('reuse'), Type.Literal('drop')], { default: 'reuse', description: 'change and learned modes: what a skipped block does.' }),
  learned: Type.String({
    default: '',
    description: 'learned mode: the gate parameters as JSON ({"logits": [[...], ...], "uncondLogits"?: ...}), as the RL trainer saves them.',
  }),
  uncond_mask: Type.String({
    default: DEFAULT_UNCOND_MASK,
    description:
      'Guidance lever: a mask (as above) for the unconditional half of classifier-free guidance; empty: as the conditional half. In learned mode, learned unconditional gates win over it.',
  }),
  uncond_pass: Type.String({
    default: DEFAULT_UNCOND_PASS,
    description:
      'Guidance lever, one character per step: R run the unconditional pass, S skip it (guidance off that step), C skip it and reuse the last guidance direction, X the same rescaled to move the clean image as much as then; empty: always run.',
  }),
};

type Widgets = { [K in keyof typeof widgets]: Type.Static<(typeof widgets)[K]> };

/** Which widget a config field comes from, so problems land on the input a person edits. */
const WIDGET_OF_FIELD: Record<string, keyof Widgets> = {
  'policy/rows': 'mask',
  'policy/blocks': 'blocks',
  'policy/start': 'start',
  'policy/threshold': 'threshold',
  'policy/logits': 'learned',
  'policy/uncondLogits': 'learned',
  'policy/skipAction': 'action',
  'guidance/uncondRows': 'uncond_mask',
  'guidance/uncondPass': 'uncond_pass',
};

/** "2-7", "1,3,5", "" (all) -> block indices; a string problem when the text is not a list. */
export function parseBlockList(text: string, blocks: number): number[] | string {
  if (text.trim() === '' || text.trim() === 'all') return Array.from({ length: blocks }, (_, i) => i);
  const out: number[] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) return `"${part}" is not a block index or range (e.g. "2-7" or "1,3,5")`;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) return `range "${part}" runs backwards`;
    for (let b = from; b <= to; b++) out.push(b);
  }
  return out;
}

/** uncond_pass as the guidance config spells it: one letter per step, separators and spaces dropped. */
function uncondPassOf(text: string): string {
  return text.replace(/[\s/,;]+/g, '');
}

/** The widgets as one skip config, or the problems keyed by widget name. */
export function configFromWidgets(w: Widgets, blocks: number): { config: SkipConfig } | { problems: Array<{ input: string; message: string }> } {
  const problems: Array<{ input: string; message: string }> = [];
  const guidance: NonNullable<SkipConfig['guidance']> = {};
  const uncondRows = splitRows(w.uncond_mask);
  if (uncondRows.length > 0) guidance.uncondRows = uncondRows;
  const uncondPass = uncondPassOf(w.uncond_pass);
  if (uncondPass !== '') guidance.uncondPass = uncondPass;
  if (uncondPass !== '' && !/^[RSCXrscx]+$/.test(uncondPass))
    problems.push({
      input: 'uncond_pass',
      message: `"${w.uncond_pass}": one character per step, R (run), S (skip), C (reuse the last guidance direction) or X (reuse it in clean-image units)`,
    });
  let policy: SkipConfig['policy'] = { kind: 'none' };
  if (w.mode === 'mask') {
    const rows = splitRows(w.mask);
    if (rows.length === 0) problems.push({ input: 'mask', message: 'mask mode needs a mask: one row per step, e.g. "RRRRRRRRRR/RRDDRRRRRR"' });
    policy = { kind: 'mask', rows };
  } else if (w.mode === 'change') {
    const list = parseBlockList(w.blocks, blocks);
    if (typeof list === 'string') problems.push({ input: 'blocks', message: list });
    policy = {
      kind: 'change',
      threshold: w.threshold,
      start: w.start,
      end: w.end,
      maxConsecutive: w.max_consecutive,
      blocks: typeof list === 'string' ? [] : list,
      action: w.action,
    };
  } else if (w.mode === 'learned') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(w.learned);
    } catch {
      problems.push({
        input: 'learned',
        message: w.learned.trim() === '' ? 'learned mode needs gate parameters (JSON from the RL trainer)' : 'is not valid JSON',
      });
    }
    if (parsed !== undefined) {
      const params = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
      policy = { kind: 'learned', skipAction: w.action, ...params } as SkipConfig['policy'];
    }
  }
  if (problems.length > 0) return { problems };
  const config: SkipConfig = { policy, ...(Object.keys(guidance).length > 0 ? { guidance } : {}) };
  const issues = skipConfigIssues(config, blocks);
  if (issues.length > 0)
    return {
      problems: issues.map((issue) => ({
        input: WIDGET_OF_FIELD[issue.field] ?? (issue.field.startsWith('policy/logits') ? 'learned' : 'mode'),
        message: issue.message,
      })),
    };
  return { config };
}

/** Block counts of the installed models, as the model catalogue reads them from their manifests. */
function installedBlockCounts(env: NodeEnvironment): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of env.models.list()) {
    const blocks = env.models.info?.(name)?.blocks ?? 0;
    if (blocks > 0) counts.set(name, blocks);
  }
  return counts;
}

export default defineNode({
  type: 'SkipGate',
  displayName: 'Skip Gate',
  category: 'model',
  description:
    "Gates a model's blocks during sampling: run, reuse the residual a block produced at an earlier step, or drop it, per step and block; and a guidance lever (a cheaper or skipped unconditional pass). FewStepSampler reports the FLOPs saved. Residual caches live in one sampling run only.",
  version: 1,
  inputs: { model: { type: 'MODEL' } },
  widgets,
  outputs: { MODEL: 'MODEL' },
  // The MODEL input is a link, so the model is not known here: the setting is checked against
  // the installed models (exact when one is installed, as shipped) and again against the
  // actual model when the node runs, before any sampling.
  check(values, env) {
    const counts = installedBlockCounts(env);
    if (counts.size === 0) return [];
    let first: Array<{ input: string; message: string }> | undefined;
    for (const [name, blocks] of counts) {
      const result = configFromWidgets(values, blocks);
      if (!('problems' in result)) return [];
      first ??= result.problems.map((p) => ({
        input: p.input,
        message: counts.size > 1 ? `${p.message} (model ${name}; fits no installed model)` : `${p.message} (model ${name})`,
      }));
    }
    return first ?? [];
  },
  // Learned mode: the trainer learns the gates (one per step and block and half) jointly with
  // the schedule, keeping the guidance lever as set; they are saved in `learned`.
  training(values) {
    if (values.mode !== 'learned') return undefined;
    const saved = JSON.parse(values.learned || '{}') as { logits?: number[][]; uncondLogits?: number[][] };
    const uncondPass = uncondPassOf(values.uncond_pass);
    return {
      kind: 'gates',
      learned: { logits: saved.logits, uncondLogits: saved.uncondLogits },
      skipAction: values.action,
      ...(uncondPass ? { guidance: { uncondPass } } : {}),
      save: (gates) => ({ learned: JSON.stringify(gates) }),
    };
  },
  run(_ctx, { model, ...values }) {
    const blocks = model.model.blockCount;
    const result = configFromWidgets(values, blocks);
    if ('problems' in result)
      throw new Error(`SkipGate does not fit model ${model.name}: ${result.problems.map((p) => `${p.input}: ${p.message}`).join('; ')}`);
    const skip = createSkipSettings(result.config, blocks);
    // A new handle; the input handle (maybe cached and shared) is left as it is.
    const handle: ModelHandle = { name: model.name, model: model.model, skip };
    return { outputs: { MODEL: handle }, ui: { text: [skip ? skip.description : 'no skipping'] } };
  },
});
