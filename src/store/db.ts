// The database connection: SQLite through kysely, tuned for a single-writer server.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";

// Domains declare their own tables and narrow with `db.withTables<T>()`.
// biome-ignore lint/complexity/noBannedTypes: the base schema is intentionally empty
export type Db = Kysely<{}>;

export interface OpenedDb {
  db: Db;
  raw: Database.Database;
  close(): Promise<void>;
}

export function openDb(file: string): OpenedDb {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const raw = new Database(file);
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  raw.pragma("foreign_keys = ON");
  raw.pragma("busy_timeout = 5000");
  // biome-ignore lint/complexity/noBannedTypes: see Db
  const db = new Kysely<{}>({ dialect: new SqliteDialect({ database: raw }) });
  return { db, raw, close: () => db.destroy() };
}
