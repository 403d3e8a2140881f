/** The server's HTTP API and websocket, as the editor uses them. */

export type InputSpec = [string | Array<string | number>, Record<string, unknown>?];

export interface NodeInfo {
  input: { required: Record<string, InputSpec>; optional?: Record<string, InputSpec> };
  input_order: { required: string[]; optional?: string[] };
  output: string[];
  output_name: string[];
  name: string;
  display_name: string;
  description: string;
  category: string;
  output_node: boolean;
}

export interface ImageRef {
  filename: string;
  subfolder: string;
  type: string;
}

export interface NodeErrorEntry {
  type: string;
  message: string;
  details: string;
  extra_info: { input_name?: string };
}

export type NodeErrors = Record<string, { errors: NodeErrorEntry[]; class_type: string }>;

export interface PromptRejection {
  error: { type: string; message: string; details?: string };
  node_errors?: NodeErrors;
}

/** One prompt in GET /queue: `[number, prompt_id, prompt, extra_data, outputs_to_execute]`. */
export type QueueTuple = [number, string, Record<string, { class_type?: string }>, { extra_pnginfo?: { workflow?: unknown } }?, string[]?];

export interface QueueState {
  queue_running: QueueTuple[];
  queue_pending: QueueTuple[];
}

export interface HistoryEntry {
  prompt: QueueTuple;
  outputs: Record<string, { images?: ImageRef[]; text?: string[] }>;
  status?: { status_str: string; completed: boolean; messages?: Array<[string, Record<string, unknown>]> };
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

const base = new URL('.', window.location.href);
const url = (path: string) => new URL(`api/${path}`, base).toString();

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url(path), init);
  const text = await response.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const message = (body as { error?: { message?: string } })?.error?.message ?? `${response.status} ${response.statusText}`;
    throw new ApiError(message, response.status, body);
  }
  return body as T;
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export const api = {
  objectInfo: () => request<Record<string, NodeInfo>>('object_info'),
  workflows: () => request<Array<{ name: string; file: string; title: string }>>('workflows'),
  workflow: (name: string) => request<unknown>(`workflows/${encodeURIComponent(name)}`),
  queuePrompt: (prompt: unknown, clientId: string, workflow: unknown, front = false) =>
    request<{ prompt_id: string; number: number }>(
      'prompt',
      json({ prompt, client_id: clientId, extra_data: { extra_pnginfo: { workflow } }, ...(front ? { front: true } : {}) }),
    ),
  interrupt: (promptId?: string) => request<unknown>('interrupt', json(promptId ? { prompt_id: promptId } : {})),
  queue: () => request<QueueState>('queue'),
  deleteQueued: (promptIds: string[]) => request<unknown>('queue', json({ delete: promptIds })),
  clearQueue: () => request<unknown>('queue', json({ clear: true })),
  historyEntry: (promptId: string) => request<Record<string, HistoryEntry>>(`history/${encodeURIComponent(promptId)}`),
  history: (maxItems: number) => request<Record<string, HistoryEntry>>(`history?max_items=${maxItems}`),
  train: (workflow: unknown, clientId: string, name: string, settings: Record<string, unknown>) =>
    request<{ train_id: string; iterations: number }>('train', json({ prompt: workflow, client_id: clientId, name, settings })),
  interruptTraining: (trainId?: string) => request<{ interrupted: boolean }>('train/interrupt', json(trainId ? { train_id: trainId } : {})),
  parseWorkflow: (file: Blob, name: string) =>
    request<{ kind: string; workflow: unknown }>(`workflow/parse?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      body: file,
      headers: { 'content-type': 'application/octet-stream' },
    }),
  upload: async (file: File) => {
    const form = new FormData();
    form.append('image', file, file.name);
    return request<{ name: string; subfolder: string; type: string }>('upload/image', { method: 'POST', body: form });
  },
  viewUrl: (image: ImageRef) => `${url('view')}?${new URLSearchParams({ filename: image.filename, subfolder: image.subfolder, type: image.type })}`,
};

export type ServerMessage = { type: string; data: Record<string, any> };

export interface SocketHandlers {
  message(message: ServerMessage): void;
  preview(png: Blob): void;
  connected(online: boolean): void;
}

/** The websocket, reconnecting after a drop; the client id survives reloads so a running prompt stays ours. */
export function connectSocket(clientId: string, handlers: SocketHandlers): void {
  let delay = 500;
  const open = () => {
    const wsUrl = new URL(`ws?clientId=${encodeURIComponent(clientId)}`, base);
    wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(wsUrl);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      delay = 500;
      handlers.connected(true);
    };
    socket.onclose = () => {
      handlers.connected(false);
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 8000);
    };
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) {
        const view = new DataView(event.data);
        // uint32 event type 1 = preview image, uint32 format 2 = PNG (1 = JPEG), then the bytes.
        if (view.byteLength > 8 && view.getUint32(0) === 1) {
          const type = view.getUint32(4) === 2 ? 'image/png' : 'image/jpeg';
          handlers.preview(new Blob([event.data.slice(8)], { type }));
        }
        return;
      }
      try {
        handlers.message(JSON.parse(event.data as string) as ServerMessage);
      } catch (error) {
        console.warn('fewstep: unreadable message', error);
      }
    };
  };
  open();
}
