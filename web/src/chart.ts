import { api, type ImageRef } from './api.ts';

/**
 * The reward curve of a training run, fed by `training_progress` websocket messages
 * ({ step, iterations, reward, held_out_fd }). The panel shows itself when a run starts.
 */
class TrainingChart {
  private points: Array<{ step: number; reward: number }> = [];
  private status = '';
  private heldOut: number | null = null;

  reset(status: string): void {
    this.points = [];
    this.heldOut = null;
    this.status = status;
    const link = document.getElementById('training-plot') as HTMLAnchorElement | null;
    if (link) link.hidden = true;
    this.draw();
  }

  add(data: Record<string, unknown>): void {
    if (typeof data.held_out_fd === 'number') this.heldOut = data.held_out_fd;
    const step = Number.isFinite(Number(data.step)) ? Number(data.step) : this.points.length;
    if (Number.isFinite(Number(data.iterations))) this.status = `training: ${step} of ${Number(data.iterations)} iterations`;
    const reward = data.reward === null || data.reward === undefined ? NaN : Number(data.reward ?? data.mean_reward);
    if (step === 0 || (this.points.length > 0 && step < this.points[this.points.length - 1].step)) this.points = [];
    if (Number.isFinite(reward)) this.points.push({ step, reward });
    this.draw();
  }

  /** The run ended: say how, and link the server's PNG of the curve. */
  finish(outcome: 'done' | 'stopped' | 'failed', plot?: ImageRef): void {
    this.status = `training ${outcome}`;
    const link = document.getElementById('training-plot') as HTMLAnchorElement | null;
    if (link && plot) {
      link.href = api.viewUrl(plot);
      link.hidden = false;
    }
    this.draw();
  }

  private draw(): void {
    const panel = document.getElementById('training-panel');
    const canvas = document.getElementById('training-chart') as HTMLCanvasElement | null;
    const label = document.getElementById('training-label');
    if (!panel || !canvas) return;
    panel.hidden = false;
    const last = this.points[this.points.length - 1];
    if (label) {
      label.textContent = [this.status, last ? `reward ${last.reward.toFixed(4)}` : '', this.heldOut !== null ? `held-out FD ${this.heldOut.toFixed(3)}` : '']
        .filter(Boolean)
        .join(' · ');
    }
    const ctx = canvas.getContext('2d')!;
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    ctx.strokeStyle = '#3b3f45';
    ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
    if (this.points.length === 0) return;
    const rewards = this.points.map((p) => p.reward);
    const lo = Math.min(...rewards);
    const hi = Math.max(...rewards);
    const span = hi - lo || 1;
    ctx.strokeStyle = '#3fb950';
    ctx.fillStyle = '#3fb950';
    ctx.lineWidth = 2;
    ctx.beginPath();
    this.points.forEach((p, i) => {
      const x = 6 + (i / Math.max(1, this.points.length - 1)) * (width - 12);
      const y = height - 6 - ((p.reward - lo) / span) * (height - 12);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    if (this.points.length === 1) ctx.fillRect(width / 2 - 2, height / 2 - 2, 4, 4);
  }
}

export const trainingChart = new TrainingChart();
