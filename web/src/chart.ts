/**
 * The reward curve of a training run, fed by `training_progress` websocket messages
 * ({ step, reward, ... }). The panel shows itself on the first point.
 */
class TrainingChart {
  private points: Array<{ step: number; reward: number }> = [];

  add(data: Record<string, unknown>): void {
    const reward = Number(data.reward ?? data.mean_reward);
    if (!Number.isFinite(reward)) return;
    const step = Number.isFinite(Number(data.step)) ? Number(data.step) : this.points.length;
    if (step === 0 || (this.points.length > 0 && step < this.points[this.points.length - 1].step)) this.points = [];
    this.points.push({ step, reward });
    this.draw();
  }

  private draw(): void {
    const panel = document.getElementById('training-panel');
    const canvas = document.getElementById('training-chart') as HTMLCanvasElement | null;
    const label = document.getElementById('training-label');
    if (!panel || !canvas) return;
    panel.hidden = false;
    const ctx = canvas.getContext('2d')!;
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    const rewards = this.points.map((p) => p.reward);
    const lo = Math.min(...rewards);
    const hi = Math.max(...rewards);
    const span = hi - lo || 1;
    const last = this.points[this.points.length - 1];
    if (label) label.textContent = `step ${last.step}: ${last.reward.toFixed(4)}`;
    ctx.strokeStyle = '#3b3f45';
    ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
    ctx.strokeStyle = '#3fb950';
    ctx.lineWidth = 2;
    ctx.beginPath();
    this.points.forEach((p, i) => {
      const x = 6 + (i / Math.max(1, this.points.length - 1)) * (width - 12);
      const y = height - 6 - ((p.reward - lo) / span) * (height - 12);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

export const trainingChart = new TrainingChart();
