// Fixed SQL for the statements every turn runs. Building and compiling a kysely query costs more
// than running it on SQLite; these skip both. Inside a unit of work (tx.ts), which holds the
// connection, they run on it directly; elsewhere they go through kysely's connection handling.
import { CompiledQuery } from "kysely";
import { ENDED, type UnitConnection } from "./connection";
import type { Db } from "./db";

export interface Statement<R> {
  readonly sql: string;
  run(db: Db, params: readonly unknown[]): Promise<R[]>;
}

/** Units of work by the handle their callbacks get (tx.ts registers them). */
const handles = new WeakMap<Db, UnitConnection>();

/** Lets fixed statements given `unit.handle` run on its connection directly, while the unit is active. */
export function registerUnitHandle(unit: UnitConnection): void {
  handles.set(unit.handle, unit);
}

/** `text` with `?` placeholders; the caller passes values in their order. Rows come back as `R`. */
export function statement<R = never>(text: string): Statement<R> {
  return {
    sql: text,
    async run(db, params) {
      const unit = handles.get(db);
      if (!unit) return (await db.executeQuery<R>(CompiledQuery.raw(text, [...params]))).rows;
      if (!unit.active) throw new Error(ENDED);
      const s = unit.prepare(text);
      if (s.reader) return s.all(...params) as R[];
      s.run(...params);
      return [];
    },
  };
}
