// Units of work: a state change and the events it produces commit in one transaction,
// then the stored events are published to the bus.
import type { AuditEntry } from "../core/audit";
import { CoreErrors } from "../core/errors";
import type { EventBus, PendingEvent, StoredEvent } from "../core/events";
import type { UnitConnection } from "./connection";
import { type Db, unitConnectionOf } from "./db";

export interface Tx {
  /** The transaction's connection; use it, never the outer db, inside the callback. */
  readonly db: Db;
  emit(...events: PendingEvent[]): void;
  /** Records an action in the audit trail; it commits with the transaction or not at all. */
  audit(entry: AuditEntry): void;
  /** Runs `fn` once the transaction has committed, before its events are published; never after a rollback. */
  afterCommit(fn: () => void): void;
}

export type EventAppender = (db: Db, events: PendingEvent[]) => Promise<StoredEvent[]>;

/** Writes audit entries on the unit of work's connection; `afterCommit` runs only if it commits. */
export type AuditAppender = (db: Db, entries: AuditEntry[], afterCommit: (fn: () => void) => void) => Promise<void>;

export type Transact = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

export function createTransact(db: Db, append: EventAppender, bus: EventBus, appendAudit: AuditAppender): Transact {
  const unit = unitConnectionOf(db);
  return async (fn) => {
    let stored: StoredEvent[] = [];
    const committed: Array<() => void> = [];
    const body = async (trx: Db) => {
      const pending: PendingEvent[] = [];
      const audits: AuditEntry[] = [];
      const value = await fn({
        db: trx,
        emit: (...e) => pending.push(...e),
        audit: (a) => audits.push(a),
        afterCommit: (f) => committed.push(f),
      });
      if (pending.length > 0) stored = await append(trx, pending);
      // Fail closed: if the audit write throws, the whole unit of work rolls back.
      if (audits.length > 0) {
        try {
          await appendAudit(trx, audits, (f) => committed.push(f));
        } catch (err) {
          throw CoreErrors.auditUnavailable({ details: { cause: (err as Error).message } });
        }
      }
      return value;
    };
    const result = unit ? await held(unit, body) : await db.transaction().execute(body);
    for (const f of committed) f();
    if (stored.length > 0) bus.publish(stored);
    return result;
  };
}

/**
 * Runs `body` in a transaction on the connection the unit takes: at once when nobody holds or
 * waits for it, without the promise round trips of kysely's transaction builder.
 */
async function held<T>(unit: UnitConnection, body: (trx: Db) => Promise<T>): Promise<T> {
  const waiting = unit.take();
  if (waiting) await waiting;
  try {
    unit.begin();
    try {
      const value = await body(unit.handle);
      unit.commit();
      return value;
    } catch (err) {
      unit.rollback();
      throw err;
    }
  } finally {
    unit.release();
  }
}

/**
 * A Transact that runs every unit of work inside `tx`, which is already open: several units then
 * commit (and publish) as one. Work that waits on anything but the database must not run in it.
 */
export function joined(tx: Tx): Transact {
  return (fn) => fn(tx);
}
