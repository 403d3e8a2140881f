/**
 * Ordering over a dependency map (node id -> the ids it reads from). Pure and total: unknown
 * ids are ignored, so it works on half-valid graphs while validation is still collecting errors.
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
    stack.push(...deps.get(id)!);
  }
  return seen;
}

/**
 * Orders `ids` so each node follows its dependencies (Kahn's algorithm, ties broken by id so
 * the order is stable). Nodes on or behind a cycle come back in `cyclic`, not in `order`.
 */
export function topologicalOrder(ids: Iterable<string>, deps: Dependencies): { order: string[]; cyclic: string[] } {
  const members = new Set(ids);
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const id of members) {
    const inside = [...new Set(deps.get(id) ?? [])].filter((dep) => members.has(dep));
    waitingOn.set(id, inside.length);
    for (const dep of inside) dependents.set(dep, [...(dependents.get(dep) ?? []), id]);
  }
  const ready = [...members].filter((id) => waitingOn.get(id) === 0).sort(compareIds);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = waitingOn.get(next)! - 1;
      waitingOn.set(next, left);
      if (left === 0) insertSorted(ready, next);
    }
  }
  const placed = new Set(order);
  return { order, cyclic: [...members].filter((id) => !placed.has(id)).sort(compareIds) };
}

/** Numeric ids in numeric order, others after them in string order. */
export function compareIds(a: string, b: string): number {
  const na = Number(a), nb = Number(b);
  const aNum = a !== '' && Number.isFinite(na), bNum = b !== '' && Number.isFinite(nb);
  if (aNum && bNum) return na - nb;
  if (aNum !== bNum) return aNum ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function insertSorted(list: string[], id: string): void {
  let i = 0;
  while (i < list.length && compareIds(list[i], id) < 0) i++;
  list.splice(i, 0, id);
}
