/**
 * A plain line plot of training curves as an image (for the PNG `fewstep train` writes): one
 * panel per series, each scaled to its own range, with light grid lines. No text: the numbers
 * are printed beside it; the picture shows the shape (does reward rise, does held-out FD follow).
 */
import { imageBatch, type ImageBatch } from '../image/image-batch.ts';

export interface CurveSeries {
  /** [x, y] points; non-finite y are skipped. */
  points: Array<[number, number]>;
  /** RGB in [0, 1]. */
  color: [number, number, number];
}

export function plotCurves(series: readonly CurveSeries[], width = 640, panelHeight = 200): ImageBatch {
  const panels = Math.max(1, series.length);
  const height = panels * panelHeight;
  const image = imageBatch(1, 3, height, width);
  image.data.fill(1);
  const plane = width * height;
  const put = (x: number, y: number, [r, g, b]: readonly [number, number, number]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const p = y * width + x;
    image.data[p] = r;
    image.data[plane + p] = g;
    image.data[2 * plane + p] = b;
  };
  const line = (x0: number, y0: number, x1: number, y1: number, color: readonly [number, number, number]) => {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let s = 0; s <= steps; s++) {
      const x = Math.round(x0 + ((x1 - x0) * s) / steps);
      const y = Math.round(y0 + ((y1 - y0) * s) / steps);
      put(x, y, color);
      put(x, y + 1, color);
    }
  };
  const margin = 16;
  series.forEach((curve, panel) => {
    const top = panel * panelHeight + margin;
    const bottom = (panel + 1) * panelHeight - margin;
    const grey: [number, number, number] = [0.85, 0.85, 0.85];
    for (let k = 0; k <= 4; k++) line(margin, Math.round(top + ((bottom - top) * k) / 4), width - margin, Math.round(top + ((bottom - top) * k) / 4), grey);
    line(margin, top, margin, bottom, [0.3, 0.3, 0.3]);
    line(margin, bottom, width - margin, bottom, [0.3, 0.3, 0.3]);
    const points = curve.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (points.length === 0) return;
    const xs = points.map(([x]) => x);
    const ys = points.map(([, y]) => y);
    const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
    let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
    if (yMax - yMin < 1e-12) [yMin, yMax] = [yMin - 1, yMax + 1];
    const px = (x: number) => Math.round(margin + ((x - xMin) / (xMax - xMin || 1)) * (width - 2 * margin));
    const py = (y: number) => Math.round(bottom - ((y - yMin) / (yMax - yMin)) * (bottom - top));
    for (let i = 1; i < points.length; i++) line(px(points[i - 1][0]), py(points[i - 1][1]), px(points[i][0]), py(points[i][1]), curve.color);
    for (const [x, y] of points) for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) put(px(x) + dx, py(y) + dy, curve.color);
  });
  return image;
}
