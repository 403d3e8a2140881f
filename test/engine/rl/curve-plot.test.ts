import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { rasterText, textWidth } from '../../../engine/image/bitmap-font.ts';
import { encodePng } from '../../../engine/image/png.ts';
import { formatTick, niceTicks, plotCurves } from '../../../engine/rl/curve-plot.ts';

const pixel = (image: ReturnType<typeof plotCurves>, x: number, y: number) => {
  const plane = image.width * image.height;
  const p = y * image.width + x;
  return [image.data[p], image.data[plane + p], image.data[2 * plane + p]];
};
const inkIn = (image: ReturnType<typeof plotCurves>, x0: number, y0: number, x1: number, y1: number) => {
  let dark = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (pixel(image, x, y).some((v) => v < 0.8)) dark++;
  return dark;
};

test('the font draws different characters differently and measures text', () => {
  const lit = (text: string) => {
    const pixels: string[] = [];
    rasterText(text, 0, 0, (x, y) => pixels.push(`${x},${y}`));
    return pixels.sort().join(' ');
  };
  assert.notEqual(lit('0'), lit('8'));
  assert.notEqual(lit('e'), lit('c'));
  assert.equal(lit(' '), '');
  assert.equal(textWidth('abc'), 17);
  assert.equal(textWidth('abc', 2), 34);
  // Every pixel of a glyph lies inside its 5 x 7 cell.
  rasterText('W', 0, 0, (x, y) => assert.ok(x >= 0 && x < 5 && y >= 0 && y < 7));
});

test('nice ticks step by 1, 2 or 5 x 10^n and cover the range', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(-3.97, -3.6, 4), [-3.9, -3.8, -3.7, -3.6]);
  assert.deepEqual(niceTicks(0.12, 0.19, 3), [0.12, 0.14, 0.16, 0.18]);
  assert.equal(formatTick(0.30000000000000004), '0.3');
  assert.equal(formatTick(123456), '1.2e+5');
});

test('the reward plot has axes, tick numbers, panel titles and the x label', () => {
  const rewards: Array<[number, number]> = [
    [0, 0.2],
    [1, 0.35],
    [2, 0.31],
    [3, 0.5],
  ];
  const heldOut: Array<[number, number]> = [
    [0, -2.1],
    [3, -1.7],
  ];
  const image = plotCurves(
    [
      { points: rewards, color: [0.1, 0.3, 0.8], label: 'mean training reward' },
      { points: heldOut, color: [0.85, 0.35, 0.1], label: 'minus held-out FD' },
    ],
    { width: 640, panelHeight: 220 },
  );
  mkdirSync('test-artifacts', { recursive: true });
  writeFileSync(path.join('test-artifacts', 'reward-plot.png'), encodePng(image, 0));
  assert.equal(image.width, 640);
  assert.equal(image.height, 2 * 220 + 22);
  // Titles above each panel, tick numbers left of the y axes, tick numbers and "iteration" at the bottom.
  assert.ok(inkIn(image, 84, 4, 400, 22) > 0, 'no title drawn over the first panel');
  assert.ok(inkIn(image, 84, 224, 400, 242) > 0, 'no title drawn over the second panel');
  assert.ok(inkIn(image, 0, 30, 76, 200) > 40, 'no y tick numbers left of the first panel');
  assert.ok(inkIn(image, 0, 250, 76, 420) > 40, 'no y tick numbers left of the second panel');
  assert.ok(inkIn(image, 84, 442, 620, 462) > 40, 'no x label under the plot');
  // The y axis is a vertical line at x = 84 from the panel top to its bottom.
  for (const y of [40, 100, 150])
    assert.deepEqual(
      pixel(image, 84, y).map((v) => Math.round(v * 10) / 10),
      [0.3, 0.3, 0.3],
    );
  // The first reward point (x 0, the lowest reward) sits at the left end of the axis, at the bottom.
  assert.deepEqual(
    pixel(image, 84, 220 - 28),
    [0.1, 0.3, 0.8].map((v) => Math.fround(v)),
  );
  // Iterations are whole numbers: no tick at 0.5 (its "." would be ink between the 0 and 1 ticks).
  assert.equal(inkIn(image, 160, 420, 190, 436), 0);
});
