import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { requestTarget } from './request-target.ts';

/** ComfyUI's binary frame types (protocol.py): a big-endian uint32 event type, then the payload. */
export const BINARY_PREVIEW_IMAGE = 1;
export const BINARY_PREVIEW_IMAGE_WITH_METADATA = 4;
/** The image format after a type-1 frame's event type: 1 JPEG, 2 PNG. */
export const IMAGE_FORMAT_PNG = 2;

/** Where a preview comes from, sent inside type-4 frames (ComfyUI's metadata fields). */
export interface PreviewMetadata {
  node_id: string;
  prompt_id: string;
  display_node_id: string;
  parent_node_id: string | null;
  real_node_id: string;
}

interface Client {
  socket: WebSocket;
  clientId: string;
  /** Receives every prompt's events, not only its own. */
  watchAll: boolean;
  /** What the client announced in its `feature_flags` message (ComfyUI's frontend sends one first). */
  featureFlags: Record<string, unknown>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The WebSocket side of the server, at /ws?clientId=...: ComfyUI's messages (`{type, data}`)
 * go to the client that submitted the prompt, to every client when the prompt named none (as
 * ComfyUI broadcasts them), and to clients watching everything (`/ws?watch=all`, or a
 * `{"type": "watch", "data": {"all": true}}` message, a fewstep addition).
 */
export class WsHub {
  readonly server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Set<Client>();

  constructor(
    private readonly statusData: () => unknown,
    /** Answered to a client's `feature_flags` message, and served at GET /features. */
    readonly serverFeatures: Record<string, unknown> = { supports_preview_metadata: true },
  ) {
    this.server.on('connection', (socket: WebSocket, request: IncomingMessage) => this.accept(socket, request));
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const query = requestTarget(request.url).query;
    const requested = query.get('clientId') ?? query.get('client_id');
    const clientId = requested && /^[\w.:-]{1,128}$/.test(requested) ? requested : randomUUID().replaceAll('-', '');
    const client: Client = { socket, clientId, watchAll: query.get('watch') === 'all', featureFlags: {} };
    this.clients.add(client);
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => this.clients.delete(client));
    socket.on('message', (raw, isBinary) => {
      if (!isBinary) this.receive(client, raw);
    });
    this.sendTo(client, 'status', { status: this.statusData(), sid: clientId });
  }

  /** A client's message; anything malformed is ignored and the socket stays open. */
  private receive(client: Client, raw: RawData): void {
    let message: unknown;
    try {
      message = JSON.parse(String(raw));
    } catch {
      return;
    }
    if (!isRecord(message) || typeof message.type !== 'string') return;
    if (message.type === 'feature_flags') {
      // As ComfyUI: keep what the client supports, answer with what the server supports.
      client.featureFlags = isRecord(message.data) ? { ...message.data } : {};
      this.sendTo(client, 'feature_flags', this.serverFeatures);
    } else if (message.type === 'watch') {
      client.watchAll = !(isRecord(message.data) && message.data.all === false);
    }
  }

  private recipients(clientId: string | undefined): Client[] {
    return [...this.clients].filter((client) => client.watchAll || clientId === undefined || client.clientId === clientId);
  }

  /** An event for a prompt's own client and the watchers; without a client, only watchers get it. */
  send(clientId: string | undefined, type: string, data: unknown): void {
    for (const client of this.clients) {
      if (client.watchAll || (clientId !== undefined && client.clientId === clientId)) this.sendTo(client, type, data);
    }
  }

  /** An event ComfyUI sends to the prompt's client, or to every client when the prompt named none. */
  sendOrBroadcast(clientId: string | undefined, type: string, data: unknown): void {
    for (const client of this.recipients(clientId)) this.sendTo(client, type, data);
  }

  /**
   * A preview PNG. Clients that announced `supports_preview_metadata` get ComfyUI's type-4 frame
   * (uint32 4, uint32 length of the metadata JSON, the JSON, the PNG); the others get type 1
   * (uint32 1, uint32 2 for PNG, the PNG). All integers big-endian, as ComfyUI writes them.
   */
  sendPreview(clientId: string | undefined, png: Buffer, metadata: PreviewMetadata): void {
    let legacy: Buffer | undefined;
    let withMetadata: Buffer | undefined;
    for (const client of this.recipients(clientId)) {
      if (client.featureFlags.supports_preview_metadata === true) {
        withMetadata ??= previewWithMetadataFrame(png, metadata);
        this.write(client, withMetadata);
      } else {
        legacy ??= previewFrame(png);
        this.write(client, legacy);
      }
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

function previewFrame(png: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(BINARY_PREVIEW_IMAGE, 0);
  header.writeUInt32BE(IMAGE_FORMAT_PNG, 4);
  return Buffer.concat([header, png]);
}

function previewWithMetadataFrame(png: Buffer, metadata: PreviewMetadata): Buffer {
  const json = Buffer.from(JSON.stringify({ ...metadata, image_type: 'image/png' }), 'utf8');
  const header = Buffer.alloc(8);
  header.writeUInt32BE(BINARY_PREVIEW_IMAGE_WITH_METADATA, 0);
  header.writeUInt32BE(json.length, 4);
  return Buffer.concat([header, json, png]);
}
