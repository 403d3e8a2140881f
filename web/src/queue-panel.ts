import { api, type QueueTuple } from './api.ts';
import { ServerPanel, type Sidebar } from './sidebar.ts';
import { toast } from './toast.ts';

/** A prompt's nodes in a few words: its output and sampler node types, then a count. */
function summary(prompt: QueueTuple[2]): string {
  const types = Object.values(prompt ?? {}).map((node) => node?.class_type ?? '?');
  const shown = [...new Set(types)].slice(0, 3).join(', ');
  return `${types.length} node${types.length === 1 ? '' : 's'}${shown ? `: ${shown}${new Set(types).size > 3 ? ', …' : ''}` : ''}`;
}

/**
 * The queue as the server has it (GET /queue): the running prompt and the pending ones, each
 * with Cancel (POST /interrupt for the running one, POST /queue {delete} for a pending one), and
 * Clear for every pending prompt (POST /queue {clear: true}).
 */
export class QueuePanel extends ServerPanel {
  private readonly list: HTMLOListElement;

  constructor(sidebar: Sidebar, panel: HTMLElement, toggle: HTMLButtonElement) {
    super(sidebar, panel, toggle, 'Queue');
    this.list = panel.querySelector('ol')!;
    panel.querySelector<HTMLButtonElement>('.queue-clear')!.onclick = () => void this.act(api.clearQueue(), 'Clear');
  }

  protected async load(): Promise<void> {
    const { queue_running, queue_pending } = await api.queue();
    this.render(queue_running, queue_pending);
  }

  private async act(request: Promise<unknown>, what: string): Promise<void> {
    try {
      await request;
    } catch (error) {
      toast(`${what}: ${(error as Error).message}`, 'error');
    }
    this.refresh();
  }

  private render(running: QueueTuple[], pending: QueueTuple[]): void {
    const items = [...running.map((item) => ({ item, running: true })), ...[...pending].sort((a, b) => a[0] - b[0]).map((item) => ({ item, running: false }))];
    this.list.replaceChildren(
      ...items.map(({ item, running }) => {
        const [number, promptId, prompt] = item;
        const row = document.createElement('li');
        row.dataset.promptId = promptId;
        row.className = running ? 'running' : 'pending';
        const state = document.createElement('span');
        state.className = 'state';
        state.textContent = running ? 'running' : 'pending';
        const text = document.createElement('span');
        text.className = 'what';
        text.textContent = `#${number} · ${summary(prompt)}`;
        text.title = promptId;
        const cancel = document.createElement('button');
        cancel.className = 'cancel';
        cancel.textContent = running ? 'Stop' : 'Cancel';
        cancel.title = running ? 'Interrupt this prompt' : 'Take this prompt out of the queue';
        cancel.onclick = () => void this.act(running ? api.interrupt(promptId) : api.deleteQueued([promptId]), 'Cancel');
        row.append(state, text, cancel);
        return row;
      }),
    );
    if (items.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'empty';
      empty.textContent = 'Nothing queued';
      this.list.append(empty);
    }
    this.panel.querySelector<HTMLButtonElement>('.queue-clear')!.disabled = pending.length === 0;
  }
}
