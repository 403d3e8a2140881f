/** Short messages in the corner; errors stay longer. */
export function toast(message: string, kind: 'info' | 'error' | 'ok' = 'info'): void {
  const host = document.getElementById('toasts');
  if (!host) return;
  const element = document.createElement('div');
  element.className = `toast ${kind}`;
  element.textContent = message;
  host.append(element);
  while (host.children.length > 4) host.firstElementChild?.remove();
  setTimeout(() => element.remove(), kind === 'error' ? 9000 : 3500);
}
