/**
 * The training curves, drawn as two small plots that share the iteration axis: the mean training
 * reward (higher is better) and the held-out FD (lower is better), each with its axis, tick
 * numbers and title. Fed by `training_progress` messages ({ step, iterations, reward, held_out_fd }).
 */

type Point = { step: number; value: number };

interface Series {
  title: string;
  colour: string;
  points: Point[];
}

const FONT = '11px system-ui, sans-serif';
const LEFT = 52;
const RIGHT = 14;

/** Tick values at "nice" steps (1, 2, 5 x 10^n) covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 3): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * 0.7) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 0.001 || abs >= 1e5)) return value.toExponential(1);
  return Number(value.toPrecision(4)).toString();
}

export class TrainingChart {
  readonly reward: Series = { title: 'mean reward (higher is better)', colour: '#3fb950', points: [] };
  readonly heldOut: Series = { title: 'held-out FD (lower is better)', colour: '#f0883e', points: [] };
  iterations = 0;
  /** Every text drawn on the chart in the last draw (axis titles and tick numbers). */
  labels: string[] = [];

  constructor(private readonly canvas: HTMLCanvasElement) {}

  reset(iterations = 0): void {
    this.reward.points = [];
    this.heldOut.points = [];
    this.iterations = iterations;
    this.draw();
  }

  add(data: Record<string, unknown>): void {
    const step = Number.isFinite(Number(data.step)) ? Number(data.step) : this.reward.points.length;
    if (Number.isFinite(Number(data.iterations))) this.iterations = Number(data.iterations);
    const last = this.reward.points.at(-1);
    // A new run (step back to 0) starts the curves again.
    if (last && step < last.step) this.reset(this.iterations);
    const reward = data.reward ?? data.mean_reward;
    if (typeof reward === 'number' && Number.isFinite(reward)) this.reward.points.push({ step, value: reward });
    if (typeof data.held_out_fd === 'number' && Number.isFinite(data.held_out_fd)) this.heldOut.points.push({ step, value: data.held_out_fd });
    this.draw();
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.canvas;
    this.labels = [];
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    const steps = [...this.reward.points, ...this.heldOut.points].map((p) => p.step);
    const xMax = Math.max(1, this.iterations, ...steps);
    const panel = (height - 22) / 2;
    this.plot(ctx, this.reward, 0, panel, width, xMax, false);
    this.plot(ctx, this.heldOut, panel, panel, width, xMax, true);
    ctx.fillStyle = '#8b9099';
    ctx.textAlign = 'center';
    this.text(ctx, 'iteration', LEFT + (width - LEFT - RIGHT) / 2, height - 3);
  }

  private text(ctx: CanvasRenderingContext2D, text: string, x: number, y: number): void {
    ctx.fillText(text, x, y);
    this.labels.push(text);
  }

  private plot(ctx: CanvasRenderingContext2D, series: Series, top: number, height: number, width: number, xMax: number, xTicks: boolean): void {
    const plotTop = top + 16;
    const plotBottom = top + height - 4;
    const x = (step: number) => LEFT + (step / xMax) * (width - LEFT - RIGHT);
    ctx.fillStyle = series.colour;
    ctx.textAlign = 'left';
    this.text(ctx, series.title, LEFT, top + 11);
    const values = series.points.map((p) => p.value);
    let lo = values.length ? Math.min(...values) : 0;
    let hi = values.length ? Math.max(...values) : 1;
    if (hi - lo < 1e-9) [lo, hi] = [lo - Math.max(1e-3, Math.abs(lo) * 0.05), hi + Math.max(1e-3, Math.abs(hi) * 0.05)];
    const y = (value: number) => plotBottom - ((value - lo) / (hi - lo)) * (plotBottom - plotTop);
    // Axes, grid and tick numbers.
    ctx.strokeStyle = '#5a606a';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(LEFT + 0.5, plotTop);
    ctx.lineTo(LEFT + 0.5, plotBottom + 0.5);
    ctx.lineTo(width - RIGHT, plotBottom + 0.5);
    ctx.stroke();
    ctx.fillStyle = '#8b9099';
    ctx.textAlign = 'right';
    const yTicks = values.length ? niceTicks(lo, hi) : [];
    for (const tick of yTicks) {
      const ty = Math.round(y(tick)) + 0.5;
      ctx.strokeStyle = '#30343a';
      ctx.beginPath();
      ctx.moveTo(LEFT + 1, ty);
      ctx.lineTo(width - RIGHT, ty);
      ctx.stroke();
      this.text(ctx, formatTick(tick), LEFT - 4, ty + 4);
    }
    if (xTicks) {
      ctx.textAlign = 'center';
      for (const tick of niceTicks(0, xMax, 4).filter(Number.isInteger)) this.text(ctx, String(tick), x(tick), plotBottom + 13);
    }
    if (series.points.length === 0) {
      ctx.textAlign = 'center';
      this.text(ctx, 'no figures yet', LEFT + (width - LEFT - RIGHT) / 2, (plotTop + plotBottom) / 2);
      return;
    }
    ctx.strokeStyle = series.colour;
    ctx.fillStyle = series.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    series.points.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.step), y(p.value)) : ctx.lineTo(x(p.step), y(p.value))));
    ctx.stroke();
    for (const p of series.points) ctx.fillRect(x(p.step) - 2, y(p.value) - 2, 4, 4);
  }
}
