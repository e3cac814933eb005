// The database connection: SQLite through kysely, tuned for a single-writer server.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Kysely } from "kysely";
import { type Checkpointer, type CheckpointerOptions, startCheckpointer } from "./checkpointer";
import { Connection, Gate, gatedDialect, type UnitConnection, unitConnection } from "./connection";
import { registerUnitHandle } from "./statement";

// Domains declare their own tables and narrow with `db.withTables<T>()`.
// biome-ignore lint/complexity/noBannedTypes: the base schema is intentionally empty
export type Db = Kysely<{}>;

/** How units of work (tx.ts) hold each database opened here; other databases use kysely's transactions. */
const units = new WeakMap<Db, UnitConnection>();
export const unitConnectionOf = (db: Db): UnitConnection | undefined => units.get(db);

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
  const gate = new Gate();
  const connection = new Connection(raw);
  // biome-ignore lint/complexity/noBannedTypes: see Db
  const db = new Kysely<{}>({ dialect: gatedDialect(connection, gate) });
  const unit = unitConnection(db, connection, gate);
  units.set(db, unit);
  registerUnitHandle(unit);
  return {
    db,
    raw,
    checkpointer,
    async close() {
      // The writer closes last: the last connection to close checkpoints everything and removes the WAL.
      await checkpointer?.stop();
      await db.destroy();
      // kysely destroys its driver (which closes the connection) only if it ever ran a query.
      if (raw.open) raw.close();
    },
  };
}
