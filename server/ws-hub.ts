import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { requestTarget } from './request-target.ts';

/** ComfyUI's binary frame types: uint32 event type, then for previews uint32 image format. */
export const BINARY_PREVIEW_IMAGE = 1;
export const IMAGE_FORMAT_PNG = 2;

interface Client {
  socket: WebSocket;
  clientId: string;
  /** Receives every prompt's events, not only its own. */
  watchAll: boolean;
}

/**
 * The WebSocket side of the server, at /ws?clientId=...: ComfyUI's messages (`{type, data}`)
 * go to the client that submitted the prompt, and to clients watching everything
 * (`/ws?watch=all`, or a `{"type": "watch", "data": {"all": true}}` message).
 */
export class WsHub {
  readonly server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Set<Client>();

  constructor(private readonly statusData: () => unknown) {
    this.server.on('connection', (socket: WebSocket, request: IncomingMessage) => this.accept(socket, request));
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const query = requestTarget(request.url).query;
    const requested = query.get('clientId') ?? query.get('client_id');
    const clientId = requested && /^[\w.:-]{1,128}$/.test(requested) ? requested : randomUUID().replaceAll('-', '');
    const client: Client = { socket, clientId, watchAll: query.get('watch') === 'all' };
    this.clients.add(client);
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => this.clients.delete(client));
    socket.on('message', (raw, isBinary) => {
      if (isBinary) return;
      try {
        const message = JSON.parse(String(raw)) as { type?: string; data?: { all?: boolean } };
        if (message.type === 'watch') client.watchAll = message.data?.all !== false;
      } catch {
        // A client's malformed message is its own problem; the socket stays open.
      }
    });
    this.sendTo(client, 'status', { status: this.statusData(), sid: clientId });
  }

  /** A prompt's event: to its submitting client and to the watchers. */
  send(clientId: string | undefined, type: string, data: unknown): void {
    for (const client of this.clients) {
      if (client.watchAll || (clientId !== undefined && client.clientId === clientId)) this.sendTo(client, type, data);
    }
  }

  /** A preview frame: uint32 type 1, uint32 format 2 (PNG), then the PNG bytes (big-endian, as ComfyUI). */
  sendPreview(clientId: string | undefined, png: Buffer): void {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(BINARY_PREVIEW_IMAGE, 0);
    header.writeUInt32BE(IMAGE_FORMAT_PNG, 4);
    const frame = Buffer.concat([header, png]);
    for (const client of this.clients) {
      if (client.watchAll || (clientId !== undefined && client.clientId === clientId)) this.write(client, frame);
    }
  }

  /** To every client (queue status). */
  broadcast(type: string, data: unknown): void {
    for (const client of this.clients) this.sendTo(client, type, data);
  }

  get size(): number {
    return this.clients.size;
  }

  close(): void {
    for (const client of this.clients) client.socket.terminate();
    this.clients.clear();
    this.server.close();
  }

  private sendTo(client: Client, type: string, data: unknown): void {
    this.write(client, JSON.stringify({ type, data }));
  }

  private write(client: Client, payload: string | Buffer): void {
    // A slow or gone client must never stall a run: drop what cannot be sent.
    if (client.socket.readyState !== client.socket.OPEN) return;
    client.socket.send(payload, (error) => {
      if (error) this.clients.delete(client);
    });
  }
}
