/** What the keyboard shortcuts do; each returns false when it did nothing (the key then goes on). */
export interface Shortcuts {
  queue(): void;
  save(): void;
  undo(): boolean;
  redo(): boolean;
  bypass(): boolean;
  mute(): boolean;
  fit(): void;
}

/** Keys typed into a field or a dialog are text, not shortcuts. */
function typing(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  if (target?.closest?.('input, textarea, select, [contenteditable="true"], [contenteditable=""]')) return true;
  return document.querySelector('dialog[open]') !== null;
}

/**
 * ComfyUI's shortcuts: Ctrl+Enter queue, Ctrl+S save, Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo,
 * Ctrl+B bypass, Ctrl+M mute, "." fit the view. Listened for before litegraph sees the key.
 */
export function bindShortcuts(shortcuts: Shortcuts, after: () => void): void {
  window.addEventListener(
    'keydown',
    (event) => {
      if (typing(event)) return;
      const ctrl = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      let handled = true;
      if (ctrl && key === 'enter') shortcuts.queue();
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
  // After litegraph has handled a key or a pointer (a delete, a paste, a drag, a widget change), look for a change.
  for (const type of ['keyup', 'pointerup'] as const) window.addEventListener(type, () => setTimeout(after, 0), true);
}
