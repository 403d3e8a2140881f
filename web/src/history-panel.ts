import { api, type HistoryEntry, type ImageRef } from './api.ts';
import { ServerPanel, type Sidebar } from './sidebar.ts';
import { toast } from './toast.ts';

const MAX_ITEMS = 64;

interface Shot {
  promptId: string;
  number: number;
  image: ImageRef;
  entry: HistoryEntry;
}

/**
 * Past outputs from GET /history as a gallery, newest first. A click enlarges an image; from
 * there "Load workflow" puts the graph that made it back on the canvas (the workflow the editor
 * sent with the prompt, or else the one embedded in the PNG).
 */
export class HistoryPanel extends ServerPanel {
  private readonly grid: HTMLElement;
  private shots: Shot[] = [];
  private readonly lightbox: HTMLDialogElement;
  private shown = -1;

  constructor(
    sidebar: Sidebar,
    panel: HTMLElement,
    toggle: HTMLButtonElement,
    private readonly loadWorkflow: (workflow: unknown, source: string) => boolean,
  ) {
    super(sidebar, panel, toggle, 'History');
    this.grid = panel.querySelector('.gallery')!;
    this.lightbox = document.getElementById('lightbox') as HTMLDialogElement;
    this.lightbox.querySelector<HTMLButtonElement>('.lightbox-close')!.onclick = () => this.lightbox.close();
    this.lightbox.querySelector<HTMLButtonElement>('.lightbox-load')!.onclick = () => void this.loadShown();
    this.lightbox.querySelector<HTMLButtonElement>('.lightbox-prev')!.onclick = () => this.open(this.shown - 1);
    this.lightbox.querySelector<HTMLButtonElement>('.lightbox-next')!.onclick = () => this.open(this.shown + 1);
    this.lightbox.addEventListener('keydown', (event) => {
      event.stopPropagation();
      if (event.key === 'ArrowLeft') this.open(this.shown - 1);
      else if (event.key === 'ArrowRight') this.open(this.shown + 1);
    });
    this.lightbox.addEventListener('click', (event) => {
      if (event.target === this.lightbox) this.lightbox.close();
    });
  }

  protected async load(): Promise<void> {
    this.render(await api.history(MAX_ITEMS));
  }

  private render(history: Record<string, HistoryEntry>): void {
    const entries = Object.entries(history).reverse();
    this.shots = entries.flatMap(([promptId, entry]) =>
      Object.values(entry.outputs ?? {}).flatMap((output) =>
        (output.images ?? []).map((image) => ({ promptId, number: entry.prompt?.[0] ?? 0, image, entry })),
      ),
    );
    const tiles = entries.flatMap(([promptId, entry]): HTMLElement[] => {
      const shots = this.shots.filter((shot) => shot.promptId === promptId);
      if (shots.length > 0) {
        return shots.map((shot) => {
          const index = this.shots.indexOf(shot);
          const tile = document.createElement('button');
          tile.className = 'thumb';
          tile.dataset.promptId = promptId;
          tile.dataset.filename = shot.image.filename;
          tile.title = `#${shot.number} · ${shot.image.filename}`;
          const img = document.createElement('img');
          img.loading = 'lazy';
          img.alt = shot.image.filename;
          img.src = api.viewUrl(shot.image);
          tile.append(img);
          tile.onclick = () => this.open(index);
          return tile;
        });
      }
      const tile = document.createElement('div');
      tile.className = 'thumb text';
      tile.dataset.promptId = promptId;
      tile.textContent = `#${entry.prompt?.[0] ?? '?'} ${entry.status?.status_str === 'error' ? 'failed' : 'no images'}`;
      return [tile];
    });
    this.grid.replaceChildren(...tiles);
    if (tiles.length === 0) this.grid.textContent = 'No outputs yet: press Queue.';
  }

  /** Enlarges image `index` of the gallery. */
  open(index: number): void {
    if (this.shots.length === 0) return;
    this.shown = (index + this.shots.length) % this.shots.length;
    const shot = this.shots[this.shown];
    const img = this.lightbox.querySelector('img')!;
    img.src = api.viewUrl(shot.image);
    img.alt = shot.image.filename;
    (this.lightbox.querySelector('.lightbox-caption') as HTMLElement).textContent =
      `${shot.image.filename} · prompt #${shot.number} · ${this.shown + 1} of ${this.shots.length}`;
    if (!this.lightbox.open) this.lightbox.showModal();
  }

  private async loadShown(): Promise<void> {
    const shot = this.shots[this.shown];
    if (!shot) return;
    let workflow = shot.entry.prompt?.[3]?.extra_pnginfo?.workflow;
    try {
      if (!workflow) {
        const png = await (await fetch(api.viewUrl(shot.image))).blob();
        workflow = (await api.parseWorkflow(png, shot.image.filename)).workflow;
      }
    } catch (error) {
      toast(`${shot.image.filename} carries no workflow: ${(error as Error).message}`, 'error');
      return;
    }
    if (this.loadWorkflow(workflow, `the workflow of ${shot.image.filename}`)) {
      this.lightbox.close();
      toast(`Loaded the workflow that made ${shot.image.filename}`, 'ok');
    }
  }
}
