import { toast } from './toast.ts';

/**
 * The panels beside the canvas (queue, history, training). They sit next to it, never over it:
 * the canvas narrows while one is open, so no node or double-click is hidden behind a panel.
 * Each panel has a close button; the sidebar goes away with its last panel.
 */
export class Sidebar {
  private readonly listeners = new Map<HTMLElement, (shown: boolean) => void>();

  constructor(private readonly element: HTMLElement) {
    for (const panel of element.querySelectorAll<HTMLElement>('.panel')) {
      panel.querySelector<HTMLButtonElement>('.panel-close')?.addEventListener('click', () => this.hide(panel));
    }
    this.update();
  }

  /** Calls `listener` whenever `panel` is shown or hidden. */
  onToggle(panel: HTMLElement, listener: (shown: boolean) => void): void {
    this.listeners.set(panel, listener);
  }

  isShown(panel: HTMLElement): boolean {
    return !panel.hidden;
  }

  show(panel: HTMLElement): void {
    if (!panel.hidden) return;
    panel.hidden = false;
    this.update();
    this.listeners.get(panel)?.(true);
  }

  hide(panel: HTMLElement): void {
    if (panel.hidden) return;
    panel.hidden = true;
    this.update();
    this.listeners.get(panel)?.(false);
  }

  toggle(panel: HTMLElement): void {
    if (panel.hidden) this.show(panel);
    else this.hide(panel);
  }

  private update(): void {
    this.element.hidden = [...this.element.querySelectorAll<HTMLElement>('.panel')].every((panel) => panel.hidden);
  }
}

/**
 * A panel that shows what the server has (the queue, the history): read when the panel shows and
 * on each refresh() while it shows; refreshes that arrive during a read fold into one more read.
 */
export abstract class ServerPanel {
  private refreshing: Promise<void> | undefined;
  private again = false;

  constructor(
    protected readonly sidebar: Sidebar,
    protected readonly panel: HTMLElement,
    toggle: HTMLButtonElement,
    private readonly what: string,
  ) {
    toggle.onclick = () => sidebar.toggle(panel);
    sidebar.onToggle(panel, (shown) => {
      toggle.classList.toggle('on', shown);
      if (shown) this.refresh();
    });
  }

  /** Reads from the server and renders. */
  protected abstract load(): Promise<void>;

  refresh(): void {
    if (!this.sidebar.isShown(this.panel)) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = this.load()
      .catch((error) => toast(`${this.what}: ${(error as Error).message}`, 'error'))
      .finally(() => {
        this.refreshing = undefined;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }
}
