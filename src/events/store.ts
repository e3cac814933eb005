// The event log: every published event, stored with a global monotonic sequence.
import type { Clock } from "../core/clock";
import type { PendingEvent, StoredEvent } from "../core/events";
import { newId } from "../core/ids";
import type { Db } from "../store/db";
import { type Statement, statement } from "../store/statement";

interface EventsTable {
  seq: number | undefined;
  id: string;
  type: string;
  session_id: string | null;
  time: string;
  data: string;
}
type Tables = { events: EventsTable };

/** Rows per INSERT: 5 bound parameters each, well under SQLite's limit. */
const INSERT_CHUNK = 500;

/** The INSERT of `n` events, made once per row count (a unit of work stores one to a handful). */
const inserts = new Map<number, Statement<{ id: string; seq: number }>>();
function insertOf(n: number): Statement<{ id: string; seq: number }> {
  let s = inserts.get(n);
  if (!s) {
    const rows = Array.from({ length: n }, () => "(?, ?, ?, ?, ?)").join(", ");
    s = statement(`insert into events (id, type, session_id, time, data) values ${rows} returning id, seq`);
    if (n <= 32) inserts.set(n, s);
  }
  return s;
}

function toStored(r: {
  seq: number | undefined;
  id: string;
  type: string;
  session_id: string | null;
  time: string;
  data: string;
}): StoredEvent {
  return {
    seq: Number(r.seq),
    id: r.id,
    type: r.type,
    sessionId: r.session_id,
    time: r.time,
    data: JSON.parse(r.data),
  };
}

export interface EventQuery {
  afterSeq?: number;
  sessionId?: string;
  limit?: number;
}

export class EventStore {
  constructor(private readonly clock: Clock) {}

  append = async (db: Db, events: PendingEvent[]): Promise<StoredEvent[]> => {
    if (events.length === 0) return [];
    const time = this.clock.now().toISOString();
    const rows = events.map((e) => ({
      id: newId("evt"),
      type: e.type,
      session_id: e.sessionId,
      time,
      data: JSON.stringify(e.data),
    }));
    // One statement per few hundred events (SQLite caps bound parameters); RETURNING's row order is
    // not promised, so each sequence is matched to its row by id.
    const seqOf = new Map<string, number>();
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      const params = chunk.flatMap((r) => [r.id, r.type, r.session_id, r.time, r.data]);
      for (const r of await insertOf(chunk.length).run(db, params)) seqOf.set(r.id, Number(r.seq));
    }
    return rows.map((row, i) => {
      const seq = seqOf.get(row.id);
      if (seq === undefined) throw new Error(`event ${row.id} was not stored`);
      // The data as stored, without a parse: it went through JSON just above, so this is a plain copy.
      return { seq, id: row.id, type: row.type, sessionId: row.session_id, time, data: events[i]?.data };
    });
  };

  async list(db: Db, q: EventQuery): Promise<StoredEvent[]> {
    let query = db
      .withTables<Tables>()
      .selectFrom("events")
      .selectAll()
      .where("seq", ">", q.afterSeq ?? 0)
      .orderBy("seq")
      .limit(q.limit ?? 1000);
    if (q.sessionId) query = query.where("session_id", "=", q.sessionId);
    return (await query.execute()).map(toStored);
  }
}
