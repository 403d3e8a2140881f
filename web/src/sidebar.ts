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
