// Long reads off the event loop. better-sqlite3 answers synchronously, so an aggregate over a large
// table (analytics over months of metered requests) would hold every session, stream and request
// of the server until it finished. A read-only connection on a worker thread runs them instead;
// in WAL mode it reads the last committed state beside the writer. Queries are built with kysely
// as anywhere else: the reader is a kysely database whose driver sends the compiled SQL over.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { type CompiledQuery, type DatabaseConnection, type Driver, Kysely, type QueryResult } from "kysely";
import type { Logger } from "../core/log";
import { sqliteDialect } from "./connection";
import type { Db } from "./db";

/** Plain JS, so the worker needs no TypeScript loader: it opens the file read-only and answers queries in order. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma("busy_timeout = 5000");
const statements = new Map();
parentPort.on("message", (m) => {
  if (m === "stop") {
    db.close();
    parentPort.postMessage({ stopped: true });
    return;
  }
  try {
    let stmt = statements.get(m.sql);
    if (!stmt) {
      stmt = db.prepare(m.sql);
      if (statements.size >= 200) statements.delete(statements.keys().next().value);
      statements.set(m.sql, stmt);
    }
    if (!stmt.reader) throw new Error("the reader runs queries that return rows only");
    parentPort.postMessage({ id: m.id, rows: stmt.all(...m.parameters) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
parentPort.postMessage({ ready: true });
`;

export interface ReaderOptions {
  /** The better-sqlite3 module the worker loads (tests pass a missing one to see the fallback). */
  driver?: string;
  logger?: Logger | undefined;
}

export interface Reader {
  /** Where long reads go: the worker's connection, or the writer's own while the worker is unavailable. */
  readonly db: Db;
  /** Resolves true once the worker answers queries, false if it could not start. */
  readonly ready: Promise<boolean>;
  close(): Promise<void>;
}

type Pending = { q: CompiledQuery; resolve: (rows: unknown[]) => void; reject: (err: Error) => void };

/**
 * Starts the reader for `file`. Until the worker is ready, and for good if it cannot start or dies,
 * queries run on `fallback` (the writer's connection), as they would without a reader.
 */
export function startReader(file: string, fallback: Db, opts: ReaderOptions = {}): Reader {
  const driverModule = opts.driver ?? createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver: driverModule } });
  worker.unref();
  let ready = false;
  let gone = false;
  let nextId = 0;
  const pending = new Map<number, Pending>();
  let stopped: (() => void) | undefined;
  let settle: (ok: boolean) => void = () => {};
  const whenReady = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  const fail = (why: string) => {
    if (gone) return;
    gone = true;
    ready = false;
    settle(false);
    // What was in flight runs again on the writer's connection: the caller never sees the worker go.
    for (const p of pending.values()) fallback.executeQuery(p.q).then((r) => p.resolve(r.rows), p.reject);
    pending.clear();
    if (!stopped) opts.logger?.warn({ reason: why }, "database reader unavailable; long reads run on the writer");
  };
  worker.on("message", (m: { ready?: true; stopped?: true; id?: number; rows?: unknown[]; error?: string }) => {
    if (m.ready) {
      ready = true;
      settle(true);
    } else if (m.stopped) stopped?.();
    else if (m.id !== undefined) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.rows ?? []);
    }
  });
  worker.on("error", (err) => fail(err.message));
  worker.on("exit", (code) => fail(`exited with code ${code}`));

  const connection: DatabaseConnection = {
    async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
      if (!ready) return fallback.executeQuery<R>(q);
      const id = nextId++;
      const rows = await new Promise<unknown[]>((resolve, reject) => {
        pending.set(id, { q, resolve, reject });
        worker.postMessage({ id, sql: q.sql, parameters: q.parameters });
      });
      return { rows: rows as R[] };
    },
    streamQuery(): AsyncIterableIterator<never> {
      throw new Error("the database reader does not stream");
    },
  };
  const driver: Driver = {
    async init() {},
    // The worker takes one query at a time, in the order sent: no lock is needed on this side.
    async acquireConnection() {
      return connection;
    },
    async releaseConnection() {},
    async beginTransaction() {
      throw new Error("the database reader runs single queries, not transactions");
    },
    async commitTransaction() {},
    async rollbackTransaction() {},
    async destroy() {},
  };
  // biome-ignore lint/complexity/noBannedTypes: the base schema is intentionally empty (see db.ts)
  const db = new Kysely<{}>({ dialect: sqliteDialect(driver) });

  return {
    db,
    ready: whenReady,
    async close() {
      if (gone) return;
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
      });
      worker.postMessage("stop");
      await Promise.race([done, new Promise((r) => setTimeout(r, 2_000).unref())]);
      fail("closed");
      await worker.terminate();
    },
  };
}
