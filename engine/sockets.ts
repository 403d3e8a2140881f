import type { ImageBatch } from './image/image-batch.ts';

/**
 * The whole socket vocabulary, declared once. A link may only join an output and an input
 * of the same socket type. The primitive types (INT, FLOAT, STRING, BOOLEAN, COMBO) are what
 * widgets hold; a widget can also be fed by a link of its primitive type.
 */
export const SOCKET_TYPES = ['MODEL', 'CONDITIONING', 'SCHEDULE', 'IMAGE', 'SCORES', 'INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO'] as const;

export type SocketType = (typeof SOCKET_TYPES)[number];

/**
 * What travels along each socket type. Diffusion values (MODEL, CONDITIONING, SCHEDULE,
 * SCORES) are declared by the modules that make them and registered here by interface
 * merging, so this file stays the single list while engine/graph never imports diffusion code.
 */
export interface SocketValues {
  IMAGE: ImageBatch;
  INT: number;
  FLOAT: number;
  STRING: string;
  BOOLEAN: boolean;
  COMBO: string;
}

export type SocketValue<T extends SocketType> = T extends keyof SocketValues ? SocketValues[T] : unknown;
