import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FileNumbering, FileNumberRequest } from '../../engine/index.ts';
import { lostEntry } from './run-prompt.ts';
import type { QueueStore } from './store.ts';
import type { HistoryEntry, QueueItem } from './types.ts';

/** How often a prompt may start: the run cut short by a kill, and one more. */
const MAX_STARTS = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS prompts (
  prompt_id TEXT PRIMARY KEY,
  number REAL NOT NULL,
  item TEXT NOT NULL,
  running INTEGER NOT NULL DEFAULT 0,
  starts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  prompt_id TEXT NOT NULL UNIQUE,
  number REAL NOT NULL,
  entry TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS file_counters (key TEXT PRIMARY KEY, highest INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS file_reservations (
  prompt_id TEXT NOT NULL,
  node_key TEXT NOT NULL,
  first INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (prompt_id, node_key)
);
`;

export class DataFolderError extends Error {
  override readonly name = 'DataFolderError';
}

/**
 * The embedded default: pending prompts and history in SQLite (data/queue.sqlite), committed
 * before POST /prompt answers, so kill -9 loses nothing accepted. On opening, a prompt that was
 * running when the process died runs again, once; if it was already its second start, it is
 * recorded as failed with the reason (a prompt that kills the server must not do so forever).
 */
export class SqliteStore implements QueueStore {
  readonly fileNumbering: FileNumbering;
  /** What opening found: prompts put back to run again, and prompts recorded as failed. */
  readonly recovered: { rerun: string[]; failed: string[] } = { rerun: [], failed: [] };
  private readonly db: Database.Database;
  private counter: number;
  private readonly statements;

  constructor(
    dataDir: string,
    private readonly maxHistory = 10000,
  ) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, 'queue.sqlite'), { timeout: 0 });
    // WAL: a commit is in the file when it returns, so it survives kill -9 of this process;
    // synchronous NORMAL leaves the fsync to checkpoints (a power cut may lose the last commits,
    // as Redis with appendfsync everysec); FEWSTEP_SQLITE_SYNC=full fsyncs every commit.
    // EXCLUSIVE locking: a second server on the same folder is refused instead of running the
    // same prompts; the OS drops the lock when a process dies, even by kill -9.
    try {
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${process.env.FEWSTEP_SQLITE_SYNC === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(SCHEMA);
      // A write takes the exclusive lock now, not at the first prompt.
      this.db.exec('BEGIN IMMEDIATE; COMMIT');
    } catch (error) {
      this.db.close();
      if ((error as { code?: string }).code === 'SQLITE_BUSY')
        throw new DataFolderError(`the data folder ${path.basename(dataDir)}/ is in use by another fewstep process; give this one its own --data`);
      throw error;
    }
    const s = (sql: string) => this.db.prepare(sql);
    this.statements = {
      add: s('INSERT INTO prompts (prompt_id, number, item) VALUES (?, ?, ?)'),
      pending: s('SELECT item FROM prompts WHERE running = 0 ORDER BY number, rowid'),
      running: s('SELECT item FROM prompts WHERE running = 1 LIMIT 1'),
      first: s('SELECT prompt_id, item FROM prompts WHERE running = 0 ORDER BY number, rowid LIMIT 1'),
      start: s('UPDATE prompts SET running = 1, starts = starts + 1 WHERE prompt_id = ?'),
      requeue: s('UPDATE prompts SET running = 0, starts = MAX(starts - 1, 0) WHERE prompt_id = ?'),
      forget: s('DELETE FROM prompts WHERE prompt_id = ?'),
      removePending: s('DELETE FROM prompts WHERE prompt_id = ? AND running = 0'),
      clearPending: s('DELETE FROM prompts WHERE running = 0'),
      count: s('SELECT COUNT(*) AS n FROM prompts'),
      record: s('INSERT OR REPLACE INTO history (prompt_id, number, entry) VALUES (?, ?, ?)'),
      trim: s('DELETE FROM history WHERE seq <= (SELECT seq FROM history ORDER BY seq DESC LIMIT 1 OFFSET ?)'),
      trimFiles: s('DELETE FROM file_reservations WHERE prompt_id NOT IN (SELECT prompt_id FROM history) AND prompt_id NOT IN (SELECT prompt_id FROM prompts)'),
      history: s('SELECT prompt_id, entry FROM (SELECT * FROM history ORDER BY seq DESC LIMIT ?) ORDER BY seq'),
      entry: s('SELECT entry FROM history WHERE prompt_id = ?'),
      deleteEntry: s('DELETE FROM history WHERE prompt_id = ?'),
      deleteFiles: s('DELETE FROM file_reservations WHERE prompt_id = ?'),
      has: s('SELECT 1 FROM prompts WHERE prompt_id = ? UNION ALL SELECT 1 FROM history WHERE prompt_id = ? LIMIT 1'),
      highestNumber: s('SELECT MAX(ABS(number)) AS n FROM (SELECT number FROM prompts UNION ALL SELECT number FROM history)'),
      reservation: s('SELECT first, count FROM file_reservations WHERE prompt_id = ? AND node_key = ?'),
      counter: s('SELECT highest FROM file_counters WHERE key = ?'),
      setCounter: s('INSERT OR REPLACE INTO file_counters (key, highest) VALUES (?, ?)'),
      reserve: s('INSERT OR REPLACE INTO file_reservations (prompt_id, node_key, first, count) VALUES (?, ?, ?, ?)'),
    };
    this.counter = Math.trunc(Number((this.statements.highestNumber.get() as { n: number | null }).n ?? 0));
    this.recover();
    const reserve = this.db.transaction((request: FileNumberRequest) => this.reserveNumbers(request));
    this.fileNumbering = { reserve: async (request) => reserve(request) };
  }

  private recover(): void {
    const rows = this.db.prepare('SELECT prompt_id, item, starts FROM prompts WHERE running = 1').all() as Array<{
      prompt_id: string;
      item: string;
      starts: number;
    }>;
    for (const row of rows) {
      if (row.starts < MAX_STARTS) {
        this.db.prepare('UPDATE prompts SET running = 0 WHERE prompt_id = ?').run(row.prompt_id);
        this.recovered.rerun.push(row.prompt_id);
      } else {
        const message = `fewstep stopped (killed or crashed) while this prompt ran, ${row.starts} times; it is not run again`;
        this.finish(row.prompt_id, lostEntry(JSON.parse(row.item) as QueueItem, message, 'ServerLost'));
        this.recovered.failed.push(row.prompt_id);
      }
    }
  }

  nextNumber(front: boolean): number {
    return front ? -++this.counter : ++this.counter;
  }

  add(item: QueueItem): void {
    this.statements.add.run(item.promptId, item.number, JSON.stringify(item));
  }

  pending(): QueueItem[] {
    return (this.statements.pending.all() as Array<{ item: string }>).map((row) => JSON.parse(row.item) as QueueItem);
  }

  running(): QueueItem | undefined {
    const row = this.statements.running.get() as { item: string } | undefined;
    return row && (JSON.parse(row.item) as QueueItem);
  }

  start(): QueueItem | undefined {
    const row = this.statements.first.get() as { prompt_id: string; item: string } | undefined;
    if (!row) return undefined;
    this.statements.start.run(row.prompt_id);
    return JSON.parse(row.item) as QueueItem;
  }

  requeue(promptId: string): void {
    this.statements.requeue.run(promptId);
  }

  finish(promptId: string, entry: HistoryEntry): void {
    this.db.transaction(() => {
      this.statements.forget.run(promptId);
      this.statements.record.run(promptId, entry.prompt[0], JSON.stringify(entry));
      if (this.statements.trim.run(this.maxHistory).changes > 0) this.statements.trimFiles.run();
    })();
  }

  removePending(ids?: string[]): number {
    return this.db.transaction(() => {
      if (!ids) return this.statements.clearPending.run().changes;
      let removed = 0;
      for (const id of ids) removed += this.statements.removePending.run(id).changes;
      return removed;
    })();
  }

  count(): number {
    return (this.statements.count.get() as { n: number }).n;
  }

  history(maxItems?: number): Record<string, HistoryEntry> {
    const rows = this.statements.history.all(maxItems ?? -1) as Array<{ prompt_id: string; entry: string }>;
    return Object.fromEntries(rows.map((row) => [row.prompt_id, JSON.parse(row.entry) as HistoryEntry]));
  }

  historyEntry(promptId: string): HistoryEntry | undefined {
    const row = this.statements.entry.get(promptId) as { entry: string } | undefined;
    return row && (JSON.parse(row.entry) as HistoryEntry);
  }

  deleteHistory(ids?: string[]): void {
    this.db.transaction(() => {
      if (!ids) {
        this.db.exec('DELETE FROM history');
        this.statements.trimFiles.run();
      } else {
        for (const id of ids) {
          this.statements.deleteEntry.run(id);
          this.statements.deleteFiles.run(id);
        }
      }
    })();
  }

  has(promptId: string): boolean {
    return this.statements.has.get(promptId, promptId) !== undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Same prompt and node: the numbers it had. Otherwise the next ones above both the counter and the folder. */
  private reserveNumbers(request: FileNumberRequest): { first: number; reused: boolean } {
    const nodeKey = `${request.nodeId}\0${request.key}`;
    const earlier = this.statements.reservation.get(request.promptId, nodeKey) as { first: number; count: number } | undefined;
    if (earlier && earlier.count === request.count && !request.replace) return { first: earlier.first, reused: true };
    const highest = Math.max(request.floor, (this.statements.counter.get(request.key) as { highest: number } | undefined)?.highest ?? 0);
    this.statements.setCounter.run(request.key, highest + request.count);
    this.statements.reserve.run(request.promptId, nodeKey, highest + 1, request.count);
    return { first: highest + 1, reused: false };
  }
}
