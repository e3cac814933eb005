// Units of work: a state change and the events it produces commit in one transaction,
// then the stored events are published to the bus.
import type { EventBus, PendingEvent, StoredEvent } from "../core/events";
import type { Db } from "./db";

export interface Tx {
  /** The transaction's connection; use it, never the outer db, inside the callback. */
  readonly db: Db;
  emit(...events: PendingEvent[]): void;
}

export type EventAppender = (db: Db, events: PendingEvent[]) => Promise<StoredEvent[]>;

export type Transact = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

export function createTransact(db: Db, append: EventAppender, bus: EventBus): Transact {
  return async (fn) => {
    let stored: StoredEvent[] = [];
    const result = await db.transaction().execute(async (trx) => {
      const pending: PendingEvent[] = [];
      const value = await fn({ db: trx, emit: (...e) => pending.push(...e) });
      if (pending.length > 0) stored = await append(trx, pending);
      return value;
    });
    if (stored.length > 0) bus.publish(stored);
    return result;
  };
}
