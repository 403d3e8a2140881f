import { createHash } from 'node:crypto';
import type { NodeResult, OutputSpecs } from '../node.ts';

/**
 * Node outputs kept across runs, keyed by a hash of (type, version, widget values, the keys of
 * the inputs' sources). Values are shared between runs, so they must be treated as immutable:
 * anything a run mutates (e.g. a sampler's residual caches) is created inside that run.
 */
export class OutputCache {
  private readonly entries = new Map<string, NodeResult<OutputSpecs>>();

  constructor(private readonly capacity = 256) {}

  get(key: string): NodeResult<OutputSpecs> | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Refresh recency: Map keeps insertion order, so the first key is the least recent.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, result: NodeResult<OutputSpecs>): void {
    this.entries.delete(key);
    this.entries.set(key, result);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** A stable hash of a JSON-like value (object keys sorted). */
export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(stableJson(parts)).digest('hex').slice(0, 32);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
