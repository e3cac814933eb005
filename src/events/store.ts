// The event log: every published event, stored with a global monotonic sequence.
import type { Clock } from "../core/clock";
import type { PendingEvent, StoredEvent } from "../core/events";
import { newId } from "../core/ids";
import type { Db } from "../store/db";

interface EventsTable {
  seq: number | undefined;
  id: string;
  type: string;
  session_id: string | null;
  time: string;
  data: string;
}
type Tables = { events: EventsTable };

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
    const t = db.withTables<Tables>();
    const time = this.clock.now().toISOString();
    const out: StoredEvent[] = [];
    for (const e of events) {
      const row = { id: newId("evt"), type: e.type, session_id: e.sessionId, time, data: JSON.stringify(e.data) };
      const { seq } = await t.insertInto("events").values(row).returning("seq").executeTakeFirstOrThrow();
      // The data as stored, without a parse: it went through JSON just above, so this is a plain copy.
      out.push({ seq: Number(seq), id: row.id, type: row.type, sessionId: row.session_id, time, data: e.data });
    }
    return out;
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
