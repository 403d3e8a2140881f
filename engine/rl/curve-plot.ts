/**
 * A line plot of training curves as an image (for the PNG `fewstep train` writes): one panel per
 * series, each scaled to its own range, sharing the x axis. Each panel has its title, a y axis
 * with tick numbers and grid lines, and an x axis with tick numbers and its label.
 */
import { rasterText, textWidth, GLYPH_HEIGHT } from '../image/bitmap-font.ts';
import { imageBatch, type ImageBatch } from '../image/image-batch.ts';

type Rgb = readonly [number, number, number];

export interface CurveSeries {
  /** [x, y] points; non-finite y are skipped. */
  points: Array<[number, number]>;
  /** RGB in [0, 1]. */
  color: [number, number, number];
  /** The panel's title, e.g. "mean training reward". */
  label?: string;
}

export interface PlotOptions {
  width?: number;
  panelHeight?: number;
  /** The x axis label, under the last panel. */
  xLabel?: string;
}

/** Tick values at 1, 2 or 5 x 10^n steps covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // The smallest round step that gives no more than about count * 1.5 ticks.
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * 0.7) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 0.001 || abs >= 1e5)) return value.toExponential(1);
  return Number(value.toPrecision(4)).toString();
}

const INK: Rgb = [0.15, 0.15, 0.15];
const AXIS: Rgb = [0.3, 0.3, 0.3];
const GRID: Rgb = [0.88, 0.88, 0.88];
const SCALE = 2; // font pixels -> image pixels
const LEFT = 84;
const RIGHT = 20;
const TOP = 14 + GLYPH_HEIGHT * SCALE;
const BOTTOM = 14 + GLYPH_HEIGHT * SCALE;

export function plotCurves(series: readonly CurveSeries[], options: PlotOptions = {}): ImageBatch {
  const width = options.width ?? 640;
  const panelHeight = options.panelHeight ?? 220;
  const xLabel = options.xLabel ?? 'iteration';
  const panels = Math.max(1, series.length);
  const footer = 8 + GLYPH_HEIGHT * SCALE;
  const height = panels * panelHeight + footer;
  const image = imageBatch(1, 3, height, width);
  image.data.fill(1);
  const plane = width * height;
  const put = (x: number, y: number, [r, g, b]: Rgb) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const p = y * width + x;
    image.data[p] = r;
    image.data[plane + p] = g;
    image.data[2 * plane + p] = b;
  };
  const line = (x0: number, y0: number, x1: number, y1: number, color: Rgb, thick = 1) => {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let s = 0; s <= steps; s++) {
      const x = Math.round(x0 + ((x1 - x0) * s) / steps);
      const y = Math.round(y0 + ((y1 - y0) * s) / steps);
      for (let t = 0; t < thick; t++) put(x, y + t, color);
    }
  };
  const text = (value: string, x: number, y: number, color: Rgb, align: 'left' | 'right' | 'center' = 'left') => {
    const w = textWidth(value, SCALE);
    const left = align === 'left' ? x : align === 'right' ? x - w : x - w / 2;
    rasterText(value, Math.round(left), Math.round(y), (px, py) => put(px, py, color), SCALE);
  };

  // One x range for every panel, so iterations line up.
  const xs = series.flatMap((curve) => curve.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x]) => x));
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const px = (x: number) => Math.round(LEFT + ((x - xMin) / (xMax - xMin || 1)) * (width - LEFT - RIGHT));
  // Whole-number x values (iterations) get whole-number ticks only.
  const wholeX = xs.every(Number.isInteger);
  const xTicks = niceTicks(xMin, xMax === xMin ? xMin + 1 : xMax, 6).filter((t) => t >= xMin && t <= Math.max(xMax, xMin) && (!wholeX || Number.isInteger(t)));

  series.forEach((curve, panel) => {
    const top = panel * panelHeight + TOP;
    const bottom = (panel + 1) * panelHeight - BOTTOM;
    const [r, g, b] = curve.color;
    text(curve.label ?? `series ${panel + 1}`, LEFT, panel * panelHeight + 6, [r * 0.8, g * 0.8, b * 0.8]);
    const points = curve.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const ys = points.map(([, y]) => y);
    let [yMin, yMax] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
    if (yMax - yMin < 1e-12) [yMin, yMax] = [yMin - Math.max(1e-3, Math.abs(yMin) * 0.05), yMax + Math.max(1e-3, Math.abs(yMax) * 0.05)];
    const py = (y: number) => Math.round(bottom - ((y - yMin) / (yMax - yMin)) * (bottom - top));
    for (const tick of niceTicks(yMin, yMax)) {
      const y = py(tick);
      line(LEFT, y, width - RIGHT, y, GRID);
      line(LEFT - 4, y, LEFT, y, AXIS);
      text(formatTick(tick), LEFT - 8, y - (GLYPH_HEIGHT * SCALE) / 2, INK, 'right');
    }
    for (const tick of xTicks) {
      line(px(tick), bottom, px(tick), bottom + 4, AXIS);
      text(formatTick(tick), px(tick), bottom + 7, INK, 'center');
    }
    line(LEFT, top, LEFT, bottom, AXIS);
    line(LEFT, bottom, width - RIGHT, bottom, AXIS);
    for (let i = 1; i < points.length; i++) line(px(points[i - 1][0]), py(points[i - 1][1]), px(points[i][0]), py(points[i][1]), curve.color, 2);
    for (const [x, y] of points) for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) put(px(x) + dx, py(y) + dy, curve.color);
  });
  text(xLabel, LEFT + (width - LEFT - RIGHT) / 2, height - footer + 2, INK, 'center');
  return image;
}
