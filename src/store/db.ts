// The database connection: SQLite through kysely, tuned for a single-writer server.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement } from "kysely";
import { type Checkpointer, type CheckpointerOptions, startCheckpointer } from "./checkpointer";

// Domains declare their own tables and narrow with `db.withTables<T>()`.
// biome-ignore lint/complexity/noBannedTypes: the base schema is intentionally empty
export type Db = Kysely<{}>;

/** The connection behind each database opened here (a unit of work runs fixed statements on it). */
const connections = new WeakMap<Db, Database.Database>();
export const connectionOf = (db: Db): Database.Database | undefined => connections.get(db);

export interface OpenedDb {
  db: Db;
  raw: Database.Database;
  /** Null for an in-memory database (no WAL). */
  checkpointer: Checkpointer | null;
  close(): Promise<void>;
}

export function openDb(file: string, opts: { checkpoints?: CheckpointerOptions } = {}): OpenedDb {
  const memory = file === ":memory:";
  if (!memory) mkdirSync(dirname(file), { recursive: true });
  const raw = new Database(file);
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  raw.pragma("foreign_keys = ON");
  raw.pragma("busy_timeout = 5000");
  const checkpointer = memory ? null : startCheckpointer(raw, file, opts.checkpoints);
  // biome-ignore lint/complexity/noBannedTypes: see Db
  const db = new Kysely<{}>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  connections.set(db, raw);
  return {
    db,
    raw,
    checkpointer,
    async close() {
      // The writer closes last: the last connection to close checkpoints everything and removes the WAL.
      await checkpointer?.stop();
      await db.destroy();
      // kysely closes the connection only if it ever ran a query on it.
      if (raw.open) raw.close();
    },
  };
}

/**
 * Kysely's SQLite driver prepares every query anew; the same few statements run on every turn, so
 * keep them prepared. Iteration gets a statement of its own (a cached one may be mid-iteration).
 */
function withStatementCache(raw: Database.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = raw.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(sql, stmt);
      }
      const s = stmt;
      return {
        reader: s.reader,
        all: (params) => s.all(...params),
        run: (params) => s.run(...params),
        iterate: (params) => raw.prepare(sql).iterate(...params),
      };
    },
  };
}
