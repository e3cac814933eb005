// Fixed SQL for the statements every turn runs. Building and compiling a kysely query costs more
// than running it on SQLite; these skip both and run on the same connection (and transaction).
import { CompiledQuery } from "kysely";
import type { Db } from "./db";

export interface Statement<R> {
  readonly sql: string;
  run(db: Db, params: readonly unknown[]): Promise<R[]>;
}

/** `text` with `?` placeholders; the caller passes values in their order. Rows come back as `R`. */
export function statement<R = never>(text: string): Statement<R> {
  return {
    sql: text,
    async run(db, params) {
      return (await db.executeQuery<R>(CompiledQuery.raw(text, [...params]))).rows;
    },
  };
}
