/**
 * A ComfyUI client as bench/queue.ts needs it: posts prompts and watches every prompt's messages
 * on one websocket (`watch=all`), with the time each arrived. Talks HTTP and ws only.
 */
import { WebSocket } from 'ws';

export interface Arrival {
  type: string;
  promptId: string | undefined;
  at: number;
}

export class QueueWatcher {
  readonly arrivals: Arrival[] = [];
  private readonly done = new Map<string, number>();
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (raw, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(String(raw)) as { type: string; data?: { prompt_id?: string; node?: string | null } };
      const promptId = message.data?.prompt_id;
      const at = performance.now();
      this.arrivals.push({ type: message.type, promptId, at });
      if (message.type === 'executing' && message.data?.node === null && promptId) this.done.set(promptId, at);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(wsBase: string): Promise<QueueWatcher> {
    const socket = new WebSocket(`${wsBase}/ws?clientId=bench&watch=all`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new QueueWatcher(socket);
  }

  /** When the prompt's end marker (`executing` with node null) arrived. */
  finishedAt(promptId: string): number | undefined {
    return this.done.get(promptId);
  }

  count(type: string, promptId?: string): number {
    return this.arrivals.filter((a) => a.type === type && (promptId === undefined || a.promptId === promptId)).length;
  }

  /** Resolves when `condition` holds, checked at every message (and every 250 ms). */
  async until(condition: () => boolean, ms = 600000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

export async function submit(base: string, prompt: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${base}/prompt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, client_id: 'bench' }),
  });
  const body = (await response.json()) as { prompt_id?: string; error?: unknown };
  if (!response.ok || !body.prompt_id) throw new Error(`POST /prompt answered ${response.status}: ${JSON.stringify(body)}`);
  return body.prompt_id;
}

export async function history(
  base: string,
): Promise<Record<string, { status: { status_str: string }; outputs: Record<string, { images?: Array<{ filename: string }> }> }>> {
  return (await (await fetch(`${base}/history`)).json()) as never;
}

/** LoadImage -> SaveImage on an 8x8 PNG: what the queue costs, with almost no engine time. */
export function trivialPrompt(prefix: string): Record<string, unknown> {
  return {
    '1': { class_type: 'LoadImage', inputs: { image: 'bench.png' } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
  };
}

/** The four-step workflow as an API prompt (workflows/four-step.json), with its seed, batch and steps set. */
export function samplePrompt(seed: number, options: { batch?: number; steps?: number; prefix?: string } = {}): Record<string, unknown> {
  return {
    '1': { class_type: 'LoadModel', inputs: { model_name: 'fmnist' } },
    '2': { class_type: 'ClassLabel', inputs: { label: 'Sneaker' } },
    '3': { class_type: 'StepScheduler', inputs: { steps: options.steps ?? 4, spacing: 'trailing', rho: 7, timesteps: '', model: ['1', 0] } },
    '4': {
      class_type: 'FewStepSampler',
      inputs: { seed, batch_size: options.batch ?? 4, cfg: 1.5, sampler: 'dpmpp_2m', eta: 0, model: ['1', 0], conditioning: ['2', 0], schedule: ['3', 0] },
    },
    '5': { class_type: 'SaveImage', inputs: { filename_prefix: options.prefix ?? 'bench', images: ['4', 0] } },
  };
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
export const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
