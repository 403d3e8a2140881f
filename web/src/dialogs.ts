/**
 * Small modal dialogs on the native <dialog> element: a confirmation, a name, a multi-line text.
 * Each resolves once, with null when dismissed (Escape, Cancel, a click outside).
 */

interface DialogParts {
  dialog: HTMLDialogElement;
  body: HTMLElement;
  error: HTMLElement;
  ok: HTMLButtonElement;
}

function openDialog<T>(title: string, okLabel: string, build: (parts: DialogParts) => () => T | undefined, className = ''): Promise<T | null> {
  const dialog = document.createElement('dialog');
  dialog.className = `fewstep-dialog ${className}`.trim();
  const heading = document.createElement('h2');
  heading.textContent = title;
  const body = document.createElement('div');
  body.className = 'dialog-body';
  const error = document.createElement('p');
  error.className = 'dialog-error';
  const buttons = document.createElement('div');
  buttons.className = 'dialog-buttons';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.textContent = 'Cancel';
  const ok = document.createElement('button');
  ok.type = 'button';
  ok.className = 'primary';
  ok.textContent = okLabel;
  buttons.append(cancel, ok);
  dialog.append(heading, body, error, buttons);
  document.body.append(dialog);
  const accept = build({ dialog, body, error, ok });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value: T | null) => {
      if (settled) return;
      settled = true;
      resolve(value);
      dialog.close();
      dialog.remove();
    };
    const submit = () => {
      const value = accept();
      if (value !== undefined) finish(value);
    };
    ok.onclick = submit;
    cancel.onclick = () => finish(null);
    dialog.addEventListener('close', () => finish(null));
    // A click on the backdrop (the dialog element itself, outside its box) dismisses.
    dialog.addEventListener('click', (event) => {
      if (event.target !== dialog) return;
      const box = dialog.getBoundingClientRect();
      const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) finish(null);
    });
    dialog.addEventListener('keydown', (event) => {
      // Keys typed here are not graph shortcuts.
      event.stopPropagation();
      const multiline = (event.target as HTMLElement).localName === 'textarea';
      if (event.key === 'Enter' && (!multiline || event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit();
      }
    });
    dialog.showModal();
    const field = body.querySelector<HTMLInputElement | HTMLTextAreaElement>('input, textarea');
    (field ?? ok).focus();
    // A long text opens at its start.
    if (field instanceof HTMLTextAreaElement) {
      field.setSelectionRange(0, 0);
      field.scrollTop = 0;
    }
  });
}

/** Asks before something that throws work away. */
export function confirmAction(title: string, message: string, okLabel: string): Promise<boolean> {
  return openDialog<boolean>(title, okLabel, ({ body }) => {
    const text = document.createElement('p');
    text.textContent = message;
    body.append(text);
    return () => true;
  }).then((answer) => answer === true);
}

/** Asks for a file name; `.json` is added when missing. */
export function askName(title: string, initial: string): Promise<string | null> {
  return openDialog<string>(title, 'Save', ({ body, error }) => {
    const input = document.createElement('input');
    input.type = 'text';
    input.value = initial;
    input.spellcheck = false;
    body.append(input);
    queueMicrotask(() => input.select());
    return () => {
      const name = input.value.trim().replace(/\.json$/i, '');
      if (!name) {
        error.textContent = 'Give the workflow a name.';
        return undefined;
      }
      if (/[\\/:*?"<>|]/.test(name)) {
        error.textContent = 'A name cannot contain \\ / : * ? " < > |';
        return undefined;
      }
      return `${name}.json`;
    };
  });
}

/**
 * A multi-line editor for a text widget. Text that looks like JSON is shown indented and must
 * parse before it is kept (it is kept compact, as the trainer writes it).
 */
export function editText(title: string, value: string): Promise<string | null> {
  const looksJson = (text: string) => /^\s*[[{]/.test(text);
  return openDialog<string>(
    title,
    'Apply',
    ({ body, error }) => {
      const area = document.createElement('textarea');
      area.spellcheck = false;
      area.value = looksJson(value) ? prettyJson(value) : value;
      const help = document.createElement('p');
      help.className = 'dialog-help';
      help.textContent = 'Ctrl+Enter applies, Escape cancels.';
      body.append(area, help);
      return () => {
        const text = area.value;
        if (!looksJson(text)) return text;
        try {
          return JSON.stringify(JSON.parse(text));
        } catch (problem) {
          error.textContent = `Not valid JSON: ${(problem as Error).message}`;
          return undefined;
        }
      };
    },
    'wide',
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
