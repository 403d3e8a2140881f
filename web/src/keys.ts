/** What the keyboard shortcuts do; each returns false when it did nothing (the key then goes on). */
export interface Shortcuts {
  queue(front?: boolean): void;
  interrupt(): void;
  open(): void;
  save(): void;
  undo(): boolean;
  redo(): boolean;
  bypass(): boolean;
  mute(): boolean;
  fit(): void;
}

let pointerDown = false;

/** True while a button is held: a drag is under way, and its middle is not a state to undo to. */
export function pointerIsDown(): boolean {
  return pointerDown;
}

/** Keys typed into a field or a dialog are text, not shortcuts. */
function typing(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  if (target?.closest?.('input, textarea, select, [contenteditable="true"], [contenteditable=""]')) return true;
  return document.querySelector('dialog[open]') !== null;
}

/**
 * ComfyUI's shortcuts: Ctrl+Enter queue (Ctrl+Shift+Enter at the front), Ctrl+Alt+Enter interrupt,
 * Ctrl+S save, Ctrl+O open, Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo, Ctrl+B bypass, Ctrl+M mute,
 * "." fit the view. Listened for before litegraph sees the key.
 */
export function bindShortcuts(shortcuts: Shortcuts, after: () => void): void {
  window.addEventListener(
    'keydown',
    (event) => {
      if (typing(event)) return;
      const ctrl = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      let handled = true;
      if (ctrl && event.altKey && key === 'enter') shortcuts.interrupt();
      else if (ctrl && key === 'enter') shortcuts.queue(event.shiftKey);
      else if (ctrl && key === 'o') shortcuts.open();
      else if (ctrl && key === 's') shortcuts.save();
      else if (ctrl && key === 'z' && !event.shiftKey) shortcuts.undo();
      else if (ctrl && ((key === 'z' && event.shiftKey) || key === 'y')) shortcuts.redo();
      else if (ctrl && key === 'b') handled = shortcuts.bypass();
      else if (ctrl && key === 'm') handled = shortcuts.mute();
      else if (!ctrl && !event.altKey && key === '.') shortcuts.fit();
      else handled = false;
      if (handled) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true,
  );
  window.addEventListener('pointerdown', () => (pointerDown = true), true);
  window.addEventListener('pointercancel', () => (pointerDown = false), true);
  // After litegraph has handled a key or a pointer (a delete, a paste, a drag, a widget change), look for a change.
  window.addEventListener(
    'pointerup',
    () => {
      pointerDown = false;
      setTimeout(after, 0);
    },
    true,
  );
  window.addEventListener('keyup', () => setTimeout(after, 0), true);
}
