/**
 * Ordering over a dependency map (node id -> the ids it reads from). Pure and total: unknown
 * ids are ignored, so it works on half-valid graphs while validation is still collecting errors.
 * Every function here is linear in nodes plus links (times log n for the ordered queue), so a
 * prompt of thousands of nodes never holds the server for long.
 */
export type Dependencies = ReadonlyMap<string, readonly string[]>;

/** Every node that `roots` need, roots included. */
export function ancestorsOf(roots: readonly string[], deps: Dependencies): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id) || !deps.has(id)) continue;
    seen.add(id);
    for (const dep of deps.get(id)!) stack.push(dep);
  }
  return seen;
}

/**
 * Orders `ids` so each node follows its dependencies (Kahn's algorithm, ties broken by id so
 * the order is stable). Nodes on or behind a cycle come back in `cyclic`, not in `order`.
 */
export function topologicalOrder(ids: Iterable<string>, deps: Dependencies): { order: string[]; cyclic: string[] } {
  // Ranks by id once (ids mostly arrive in order, so this sort is near linear); the queue then compares numbers.
  const sorted = [...new Set(ids)].sort(compareIds);
  const rank = new Map(sorted.map((id, index) => [id, index]));
  const waitingOn = new Int32Array(sorted.length);
  const dependents: number[][] = sorted.map(() => []);
  sorted.forEach((id, index) => {
    for (const dep of new Set(deps.get(id))) {
      const from = rank.get(dep);
      if (from === undefined) continue;
      waitingOn[index]++;
      dependents[from].push(index);
    }
  });
  const ready = new RankHeap();
  for (let index = 0; index < sorted.length; index++) if (waitingOn[index] === 0) ready.push(index);
  const order: string[] = [];
  while (ready.size > 0) {
    const index = ready.pop();
    order.push(sorted[index]);
    for (const next of dependents[index]) if (--waitingOn[next] === 0) ready.push(next);
  }
  return { order, cyclic: sorted.filter((_, index) => waitingOn[index] > 0) };
}

/**
 * For each node, the outputs (in the order given) that need it, at most `limit` of them. Each
 * node is expanded for at most `limit` outputs: once it has that many, so do all its ancestors,
 * so the walk stops there. That keeps it linear where listing every output would be quadratic.
 */
export function dependentOutputs(outputs: readonly string[], deps: Dependencies, limit: number): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const output of outputs) {
    const seen = new Set<string>();
    const stack = [output];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id) || !deps.has(id)) continue;
      seen.add(id);
      const list = found.get(id) ?? [];
      if (list.length >= limit) continue;
      list.push(output);
      found.set(id, list);
      for (const dep of deps.get(id)!) stack.push(dep);
    }
  }
  return found;
}

/** Numeric ids in numeric order, others after them in string order. */
export function compareIds(a: string, b: string): number {
  const na = Number(a),
    nb = Number(b);
  const aNum = a !== '' && Number.isFinite(na),
    bNum = b !== '' && Number.isFinite(nb);
  if (aNum && bNum) return na - nb;
  if (aNum !== bNum) return aNum ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A binary min-heap of ranks: the first ready node in id order, in log n. */
class RankHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(rank: number): void {
    const items = this.items;
    let i = items.push(rank) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent] <= rank) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = rank;
  }

  pop(): number {
    const items = this.items;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const right = left + 1;
        const child = right < items.length && items[right] < items[left] ? right : left;
        if (items[child] >= last) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
