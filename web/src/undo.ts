import type { LGraph } from '@comfyorg/litegraph';

/** The graph as undo compares it: its serialisation without the view (panning is not an edit). */
function graphSnapshot(graph: LGraph): string {
  const data = graph.serialize() as { extra?: Record<string, unknown> };
  if (data.extra) {
    const { ds: _view, ...extra } = data.extra;
    data.extra = extra;
  }
  return JSON.stringify(data);
}

/**
 * Undo and redo by snapshots of the serialised graph, as ComfyUI's change tracker does: after
 * anything that may have changed the graph (a pointer or key released, a load, a Clear, a queue)
 * `checkpoint()` compares the graph with the last state and records the old one if it differs.
 * Snapshots cover everything the graph saves (nodes, links, widget values, modes, groups),
 * whatever changed it.
 */
export class UndoHistory {
  private current: string;
  private readonly undoStack: string[] = [];
  private readonly redoStack: string[] = [];
  /** Set while a snapshot is being restored, so the restore itself is not recorded. */
  private restoring = false;

  constructor(
    private readonly graph: () => LGraph,
    private readonly restore: (snapshot: unknown) => void,
    private readonly limit = 100,
  ) {
    this.current = graphSnapshot(graph());
  }

  /** Records the graph if it changed since the last checkpoint; true when it did. */
  checkpoint(): boolean {
    if (this.restoring) return false;
    const now = graphSnapshot(this.graph());
    if (now === this.current) return false;
    this.undoStack.push(this.current);
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack.length = 0;
    this.current = now;
    return true;
  }

  /** Starts the history over at the graph as it is (the first graph loaded is not an edit). */
  reset(): void {
    this.undoStack.length = 0;
    this.redoStack.length = 0;
    this.current = graphSnapshot(this.graph());
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0 || graphSnapshot(this.graph()) !== this.current;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  undo(): boolean {
    this.checkpoint();
    const previous = this.undoStack.pop();
    if (previous === undefined) return false;
    this.redoStack.push(this.current);
    this.apply(previous);
    return true;
  }

  redo(): boolean {
    this.checkpoint();
    const next = this.redoStack.pop();
    if (next === undefined) return false;
    this.undoStack.push(this.current);
    this.apply(next);
    return true;
  }

  private apply(snapshot: string): void {
    this.restoring = true;
    try {
      this.restore(JSON.parse(snapshot));
    } finally {
      this.restoring = false;
    }
    // What the graph re-serialises to after the restore (litegraph may normalise a field).
    this.current = graphSnapshot(this.graph());
  }
}
