/**
 * A small scatter plot drawn pixel by pixel (no chart dependency for two figures): numbered points
 * (the numbers are rows of a bench table), one colour per series, optional shaded bands and
 * polylines. bench/skip.ts plots FD against FLOPs saved, bench/headline.ts FD against agreement.
 */
import { imageBatch, type ImageBatch } from '../../../engine/image/image-batch.ts';

export interface PlotPoint {
  x: number;
  y: number;
  label: string;
  series: number;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  points: PlotPoint[];
  /** Horizontal bands [low, high] per series (the baseline spread), drawn shaded in the series colour. */
  bands?: Array<{ series: number; low: number; high: number }>;
  seriesNames: string[];
  /** Points above this are drawn on the top edge with their value (so one outlier does not flatten the rest). */
  yClip?: number;
  /** The x axis' span; default from 0 to just past the largest x. */
  xRange?: [number, number];
  /** Polylines in a series' colour (a curve the points are judged against). */
  curves?: Array<{ series: number; points: Array<{ x: number; y: number }> }>;
  /** Where the series names go (top right by default): the corner the points leave empty. */
  legendAt?: 'left' | 'right';
}

const COLOURS: Array<[number, number, number]> = [
  [0.85, 0.2, 0.15],
  [0.15, 0.4, 0.85],
  [0.1, 0.6, 0.2],
  [0.6, 0.3, 0.7],
];

// 3x5 glyphs, rows top to bottom, 3 bits each (MSB = left).
const FONT: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 3, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 2, 2],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
  ':': [0, 2, 0, 2, 0],
  '-': [0, 0, 7, 0, 0],
  '%': [5, 1, 2, 4, 5],
  ' ': [0, 0, 0, 0, 0],
  '=': [0, 7, 0, 7, 0],
  A: [2, 5, 7, 5, 5],
  B: [6, 5, 6, 5, 6],
  C: [7, 4, 4, 4, 7],
  D: [6, 5, 5, 5, 6],
  E: [7, 4, 6, 4, 7],
  F: [7, 4, 6, 4, 4],
  G: [7, 4, 5, 5, 7],
  H: [5, 5, 7, 5, 5],
  I: [7, 2, 2, 2, 7],
  J: [1, 1, 1, 5, 7],
  K: [5, 5, 6, 5, 5],
  L: [4, 4, 4, 4, 7],
  M: [5, 7, 7, 5, 5],
  N: [6, 5, 5, 5, 5],
  O: [7, 5, 5, 5, 7],
  P: [7, 5, 7, 4, 4],
  Q: [7, 5, 5, 7, 1],
  R: [6, 5, 6, 5, 5],
  S: [7, 4, 7, 1, 7],
  T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7],
  V: [5, 5, 5, 5, 2],
  W: [5, 5, 7, 7, 5],
  X: [5, 5, 2, 5, 5],
  Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7],
  '(': [1, 2, 2, 2, 1],
  ')': [4, 2, 2, 2, 4],
};

export function drawScatter(spec: PlotSpec, width = 720, height = 480): ImageBatch {
  const image = imageBatch(1, 3, height, width);
  image.data.fill(1);
  const plane = width * height;
  const set = (x: number, y: number, [r, g, b]: [number, number, number], alpha = 1) => {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const p = y * width + x;
    image.data[p] = image.data[p] * (1 - alpha) + r * alpha;
    image.data[plane + p] = image.data[plane + p] * (1 - alpha) + g * alpha;
    image.data[2 * plane + p] = image.data[2 * plane + p] * (1 - alpha) + b * alpha;
  };
  const text = (s: string, x: number, y: number, colour: [number, number, number] = [0, 0, 0], scale = 2) => {
    [...s.toUpperCase()].forEach((char, i) => {
      const glyph = FONT[char] ?? FONT[' '];
      glyph.forEach((bits, row) => {
        for (let col = 0; col < 3; col++) {
          if (!(bits & (4 >> col))) continue;
          for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) set(x + (i * 4 + col) * scale + dx, y + row * scale + dy, colour);
        }
      });
    });
  };
  const left = 70;
  const right = width - 20;
  const top = 40;
  const bottom = height - 60;
  const xs = spec.points.map((p) => p.x);
  const clip = spec.yClip ?? Infinity;
  const ys = [...spec.points.map((p) => Math.min(p.y, clip)), ...(spec.bands ?? []).flatMap((b) => [b.low, b.high])];
  const [xMin, xMax] = spec.xRange ?? [Math.min(0, ...xs), Math.max(...xs, 1) * 1.08];
  const yLow = Math.min(...ys);
  const yHigh = Math.max(...ys);
  const yPad = (yHigh - yLow || 1) * 0.08;
  const [yMin, yMax] = [Math.max(0, yLow - yPad), yHigh + yPad];
  const px = (x: number) => left + ((x - xMin) / (xMax - xMin)) * (right - left);
  const py = (y: number) => bottom - ((y - yMin) / (yMax - yMin)) * (bottom - top);

  for (const band of spec.bands ?? []) {
    const colour = COLOURS[band.series % COLOURS.length];
    for (let y = Math.round(py(band.high)); y <= Math.round(py(band.low)); y++) for (let x = left; x <= right; x++) set(x, y, colour, 0.12);
  }
  for (const curve of spec.curves ?? []) {
    const colour = COLOURS[curve.series % COLOURS.length];
    curve.points.slice(1).forEach((end, i) => {
      const start = curve.points[i];
      const [x0, y0, x1, y1] = [px(start.x), py(Math.min(start.y, clip)), px(end.x), py(Math.min(end.y, clip))];
      const length = Math.ceil(Math.hypot(x1 - x0, y1 - y0));
      for (let k = 0; k <= length; k++) set(x0 + ((x1 - x0) * k) / (length || 1), y0 + ((y1 - y0) * k) / (length || 1), colour, 0.6);
    });
  }
  for (let x = left; x <= right; x++) set(x, bottom, [0, 0, 0]);
  for (let y = top; y <= bottom; y++) set(left, y, [0, 0, 0]);
  for (let i = 0; i <= 5; i++) {
    const xv = xMin + ((xMax - xMin) * i) / 5;
    const yv = yMin + ((yMax - yMin) * i) / 5;
    for (let d = 0; d < 6; d++) {
      set(px(xv), bottom + d, [0, 0, 0]);
      set(left - d, py(yv), [0, 0, 0]);
    }
    text(xv.toFixed(xMax - xMin < 10 ? 1 : 0), px(xv) - 6, bottom + 10);
    text(yv.toFixed(yMax < 10 ? 2 : 1), 6, py(yv) - 5);
  }
  text(spec.xLabel, (left + right) / 2 - spec.xLabel.length * 4, height - 24);
  text(spec.yLabel, 6, 12);
  text(spec.title, left + 120, 12);
  spec.seriesNames.forEach((name, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const y = top + 6 + i * 16;
    const x = spec.legendAt === 'left' ? left + 20 : right - 150;
    for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) set(x + dx, y + 5 + dy, colour);
    text(name, x + 10, y, colour);
  });
  for (const point of spec.points) {
    const colour = COLOURS[point.series % COLOURS.length];
    const clipped = point.y > clip;
    const cx = px(point.x);
    const cy = clipped ? top : py(point.y);
    if (clipped) for (let d = 0; d < 10; d++) for (let w = -d; w <= d; w++) set(cx + w / 2, cy - 8 + d, colour);
    else for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) if (dx * dx + dy * dy <= 16) set(cx + dx, cy + dy, colour);
    const label = clipped ? `${point.label} (${point.y.toFixed(1)})` : point.label;
    const labelX = cx + 7 + label.length * 8 > width ? cx - 7 - label.length * 8 : cx + 7;
    text(label, labelX, cy - (clipped ? 4 : 12), colour);
  }
  return image;
}
