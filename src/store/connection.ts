// The one SQLite connection and who may use it: a first-come gate that kysely's queries and the
// units of work (tx.ts) both pass, so a unit can take the connection without kysely's transaction
// machinery when nobody else holds it, and work still runs in the order it was asked for. (Once
// kysely's driver is initialised, by the first query, a kysely call reaches the gate within the
// call itself, as a unit of work does.)
import type Database from "better-sqlite3";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SingleConnectionProvider,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  Transaction,
} from "kysely";

/** First come, first served; `tryTake` succeeds only when nobody holds the connection or waits for it. */
export class Gate {
  private taken = false;
  private readonly waiting: Array<() => void> = [];

  tryTake(): boolean {
    if (this.taken) return false;
    this.taken = true;
    return true;
  }

  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the connection to the next in line, or frees it. */
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.taken = false;
  }
}

/**
 * Kysely's view of the connection. Statements are prepared once (the same few run on every turn);
 * iteration gets a statement of its own, since a cached one may be mid-iteration.
 */
export class Connection implements DatabaseConnection {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(
    readonly raw: Database.Database,
    private readonly max = 500,
  ) {}

  prepare(sql: string): Database.Statement {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.prepare(q.sql);
    if (stmt.reader) return { rows: stmt.all(...q.parameters) as R[] };
    const { changes, lastInsertRowid } = stmt.run(...q.parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  }

  async *streamQuery<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    for (const row of this.raw.prepare(q.sql).iterate(...q.parameters)) yield { rows: [row as R] };
  }
}

/** Kysely's driver: one connection, taken through the gate for each query or transaction. */
class GatedDriver implements Driver {
  constructor(
    private readonly connection: Connection,
    private readonly gate: Gate,
  ) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    await this.gate.take();
    return this.connection;
  }
  async releaseConnection(): Promise<void> {
    this.gate.give();
  }
  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw("begin"));
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw("commit"));
  }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw("rollback"));
  }
  async destroy(): Promise<void> {
    if (this.connection.raw.open) this.connection.raw.close();
  }
}

/** The driver orders access itself (the gate, or the reader's worker): kysely's own lock would be a second one. */
class SelfOrderedAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

/** A SQLite dialect over `driver`, which orders access to its connection itself. */
export function sqliteDialect(driver: Driver): Dialect {
  return {
    createDriver: () => driver,
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new SelfOrderedAdapter(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
}

export const gatedDialect = (connection: Connection, gate: Gate): Dialect =>
  sqliteDialect(new GatedDriver(connection, gate));

export const ENDED = "a unit of work's database handle was used after the unit ended";

/** A unit of work's hold on the connection (tx.ts): begin, commit and roll back without kysely. */
export interface UnitConnection {
  /** What the unit's queries run on: a kysely transaction handle, made once, that works only while a unit runs. */
  // biome-ignore lint/complexity/noBannedTypes: the base schema is intentionally empty (see db.ts)
  readonly handle: Transaction<{}>;
  /** A prepared statement on the connection, from the same cache kysely's queries use. */
  prepare(sql: string): Database.Statement;
  /** Takes the connection: at once when it is free, else after everyone already waiting. */
  take(): Promise<void> | undefined;
  begin(): void;
  commit(): void;
  /** Rolls back if a transaction is still open (SQLite ends some on its own when they fail). */
  rollback(): void;
  /** Ends the unit and gives the connection to whoever waits next. */
  release(): void;
  /** Whether a unit holds the connection now. */
  readonly active: boolean;
}

// biome-ignore lint/complexity/noBannedTypes: the base schema is intentionally empty (see db.ts)
export function unitConnection(db: Kysely<{}>, connection: Connection, gate: Gate): UnitConnection {
  const raw = connection.raw;
  let active = false;
  const guarded: DatabaseConnection = {
    async executeQuery(q) {
      if (!active) throw new Error(ENDED);
      return connection.executeQuery(q);
    },
    async *streamQuery(q) {
      if (!active) throw new Error(ENDED);
      yield* connection.streamQuery(q);
    },
  };
  const executor = db.getExecutor().withConnectionProvider(new SingleConnectionProvider(guarded));
  // kysely's Transaction takes its internal props; only the executor is used: a Transaction refuses
  // transaction(), connection() and destroy(), the calls that would need the rest.
  // biome-ignore lint/complexity/noBannedTypes: the base schema is intentionally empty (see db.ts)
  const handle = new Transaction<{}>({
    config: {},
    driver: {},
    dialect: {},
    executor,
  } as unknown as ConstructorParameters<typeof Transaction>[0]);
  const begin = raw.prepare("begin");
  const commit = raw.prepare("commit");
  const rollback = raw.prepare("rollback");
  return {
    handle,
    prepare: (sql) => connection.prepare(sql),
    take: () => (gate.tryTake() ? undefined : gate.take()),
    begin() {
      begin.run();
      active = true;
    },
    commit: () => commit.run(),
    rollback() {
      if (raw.inTransaction) rollback.run();
    },
    release() {
      active = false;
      gate.give();
    },
    get active() {
      return active;
    },
  };
}
