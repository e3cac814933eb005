// Fixed SQL for the statements every turn runs. Building and compiling a kysely query costs more
// than running it on SQLite; these skip both. Inside a unit of work (tx.ts), which holds the
// connection, they run on it directly; elsewhere they go through kysely's connection handling.
import type Database from "better-sqlite3";
import { CompiledQuery } from "kysely";
import type { Db } from "./db";

export interface Statement<R> {
  readonly sql: string;
  run(db: Db, params: readonly unknown[]): Promise<R[]>;
}

/** Transactions open in a unit of work, with the connection they hold until it ends. */
const held = new WeakMap<Db, Database.Database>();

/** Marks `trx` as holding `raw` until the returned function is called (tx.ts). */
export function holdConnection(trx: Db, raw: Database.Database): () => void {
  held.set(trx, raw);
  return () => held.delete(trx);
}

/** `text` with `?` placeholders; the caller passes values in their order. Rows come back as `R`. */
export function statement<R = never>(text: string): Statement<R> {
  const prepared = new WeakMap<Database.Database, Database.Statement>();
  return {
    sql: text,
    async run(db, params) {
      const raw = held.get(db);
      if (!raw) return (await db.executeQuery<R>(CompiledQuery.raw(text, [...params]))).rows;
      let s = prepared.get(raw);
      if (!s) {
        s = raw.prepare(text);
        prepared.set(raw, s);
      }
      if (s.reader) return s.all(...params) as R[];
      s.run(...params);
      return [];
    },
  };
}
