import { encodePng } from '../image/png.ts';
import { plotCurves } from '../rl/curve-plot.ts';
import type { TrainerState } from '../rl/trainer.ts';

/** The reward curve as a PNG: mean training reward per iteration (blue), minus held-out FD (orange). */
export function rewardCurvePng(state: TrainerState): Buffer {
  const rewards = state.history.filter((h) => h.reward !== null).map((h): [number, number] => [h.iteration, h.reward!]);
  const heldOut = state.history.filter((h) => h.heldOut !== undefined).map((h): [number, number] => [h.iteration, -h.heldOut!]);
  return encodePng(
    plotCurves(
      [
        { points: rewards, color: [0.1, 0.3, 0.8], label: 'mean training reward' },
        { points: heldOut, color: [0.85, 0.35, 0.1], label: 'minus held-out FD (higher is better)' },
      ],
      { xLabel: 'iteration' },
    ),
    0,
    { description: 'top: mean training reward per iteration; bottom: minus held-out FD' },
  );
}
