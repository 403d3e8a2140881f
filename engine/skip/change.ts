/**
 * A dynamic rule in the style of TeaCache / first-block cache: a block is skipped when its input
 * has barely changed since it last ran. The change is the relative L1 distance
 *   mean |h_now - h_last_run| / mean |h_last_run|
 * per batch element. Skipping only happens within [start, end) of the run (as fractions of the
 * steps), only for the listed blocks, and at most `maxConsecutive` times in a row per block.
 */
import Type from 'typebox';
import type { BlockAction, SkipPolicy, SkipRun } from './policy.ts';

export const ChangePolicyConfig = Type.Object(
  {
    kind: Type.Literal('change'),
    threshold: Type.Number({ minimum: 0, description: 'Skip while the relative L1 change of the block input is below this.' }),
    start: Type.Number({ minimum: 0, maximum: 1, description: 'First fraction of the run where skipping may happen.' }),
    end: Type.Number({ minimum: 0, maximum: 1, description: 'Skipping stops at this fraction of the run.' }),
    maxConsecutive: Type.Integer({ minimum: 1, description: 'A block runs again after this many skips in a row.' }),
    blocks: Type.Array(Type.Integer({ minimum: 0 }), { description: 'Blocks that may be skipped (indices from 0).' }),
    action: Type.Union([Type.Literal('reuse'), Type.Literal('drop')], { description: 'What a skip does.' }),
  },
  { description: 'Skip a block while its input changes little between steps.' },
);
export type ChangePolicyConfig = Type.Static<typeof ChangePolicyConfig>;

/** Relative L1 change of `now` against `before`. */
export function relativeChange(now: Float32Array, before: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let k = 0; k < now.length; k++) {
    diff += Math.abs(now[k] - before[k]);
    scale += Math.abs(before[k]);
  }
  return scale > 0 ? diff / scale : diff > 0 ? Infinity : 0;
}

export function changePolicy(config: ChangePolicyConfig): SkipPolicy {
  const eligible = new Set(config.blocks);
  return {
    start(blocks: number, batch: number): SkipRun {
      const lastInput: Array<Array<Float32Array | undefined>> = Array.from({ length: blocks }, () => new Array(batch));
      const consecutive: number[][] = Array.from({ length: blocks }, () => new Array(batch).fill(0));
      return {
        needsResidual: (block) => config.action === 'reuse' && eligible.has(block),
        decide(query, element, hasResidual): BlockAction {
          const fraction = query.step / query.steps;
          const before = lastInput[query.block][element];
          const possible =
            eligible.has(query.block) && fraction >= config.start && fraction < config.end && before !== undefined && (config.action === 'drop' || hasResidual);
          if (possible && consecutive[query.block][element] < config.maxConsecutive) {
            const size = query.input.data.length / query.input.dims[0];
            const now = query.input.data.subarray(element * size, (element + 1) * size);
            if (relativeChange(now, before) < config.threshold) {
              consecutive[query.block][element]++;
              return config.action;
            }
          }
          consecutive[query.block][element] = 0;
          return 'run';
        },
        ran(block, element, input) {
          const kept = (lastInput[block][element] ??= new Float32Array(input.length));
          kept.set(input);
        },
      };
    },
  };
}
