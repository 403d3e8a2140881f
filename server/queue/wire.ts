import type { ImageBatch, RunEvent } from '../../engine/index.ts';
import type { QueueItem } from './types.ts';

/**
 * What a worker publishes on `<prefix>:events` for the API servers: the engine's RunEvents as
 * they are (previews as 8-bit values, base64), so the server holding the client's socket feeds
 * them to the same reporter a local run uses. `item` is whole (less the workflow) on run_started
 * and crashed; other messages carry only what addressing needs.
 */
export type WireMessage =
  | { kind: 'event'; item: WireItem; event: WireEvent; files?: string[] }
  | { kind: 'crashed'; item: WireItem; message: string; errorType: string };

export type WireItem = Pick<QueueItem, 'promptId' | 'clientId' | 'number'> & Partial<Omit<QueueItem, 'workflow'>>;

interface WirePreview {
  count: number;
  channels: number;
  height: number;
  width: number;
  data: string;
}

type WireEvent = Exclude<RunEvent, { type: 'node_progress' }> | (Omit<Extract<RunEvent, { type: 'node_progress' }>, 'preview'> & { preview?: WirePreview });

export function wireItem(item: QueueItem, whole: boolean): WireItem {
  if (!whole) return { promptId: item.promptId, clientId: item.clientId, number: item.number };
  const { workflow: _workflow, ...rest } = item;
  return rest;
}

/**
 * Previews travel as 8-bit values (a quarter of float32's bytes): every preview a client gets is
 * 8-bit, and round(v * 255) / 255 encodes back to the same byte, so nothing it shows changes.
 */
export function encodeEvent(event: RunEvent): WireEvent {
  if (event.type !== 'node_progress' || !event.preview) return event as WireEvent;
  const { data, count, channels, height, width } = event.preview;
  const bytes = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, data[i])) * 255);
  return { ...event, preview: { count, channels, height, width, data: bytes.toString('base64') } };
}

export function decodeEvent(event: WireEvent): RunEvent {
  if (event.type !== 'node_progress' || !event.preview) return event as RunEvent;
  const bytes = Buffer.from(event.preview.data, 'base64');
  const data = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = bytes[i] / 255;
  const preview: ImageBatch = { ...event.preview, data };
  return { ...event, preview };
}

/** A full QueueItem from what a message carried (and what the server saw of it before). */
export function queueItem(wire: WireItem, known?: QueueItem): QueueItem {
  return { prompt: {}, extraData: {}, outputs: [], ...known, ...wire };
}

/** The field under which a shipped file lives in `<prefix>:files:<promptId>`: `type/subfolder/filename`. */
export const fileField = (ref: { type: string; subfolder: string; filename: string }) => [ref.type, ref.subfolder, ref.filename].filter(Boolean).join('/');

/**
 * What a training run publishes on `<prefix>:training:events`: one message for the run's client
 * (`data` holds its train_id), after the files it names (fields as `fileField`) are in Redis.
 */
export interface TrainWireMessage {
  clientId?: string;
  type: string;
  data: Record<string, unknown> & { train_id: string };
  files?: string[];
}
