// Transcript persistence (SQLite): prompts, assistant text, tool calls, approvals and errors, in order.
import { sql } from "kysely";
import type { Db } from "../store/db";
import { statement } from "../store/statement";
import type { TranscriptItem } from "./schema";

interface TranscriptTable {
  seq: number | undefined;
  id: string;
  session_id: string;
  kind: string;
  ref: string | null;
  data: string;
  created_at: string;
  updated_at: string;
}
type Tables = { transcript_items: TranscriptTable };
const t = (db: Db) => db.withTables<Tables>();

const insertItem = statement(
  "insert into transcript_items (id, session_id, kind, ref, data, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)",
);

export const itemStore = {
  async addItem(db: Db, sessionId: string, item: TranscriptItem, ref: string | null = null): Promise<void> {
    await insertItem.run(db, [
      item.id,
      sessionId,
      item.kind,
      ref,
      JSON.stringify(item.data),
      item.createdAt,
      item.updatedAt,
    ]);
  },

  /** Transcript items counted by kind, and tool calls by tool name and error flag (no item is read whole). */
  async itemCounts(
    db: Db,
    sessionId: string,
  ): Promise<Array<{ kind: string; tool: string | null; isError: boolean; n: number }>> {
    const rows = await t(db)
      .selectFrom("transcript_items")
      .select([
        "kind",
        sql<string | null>`case when kind = 'tool' then json_extract(data, '$.toolName') end`.as("tool"),
        sql<number>`case when kind = 'tool' and json_extract(data, '$.isError') = 1 then 1 else 0 end`.as("err"),
        sql<number>`count(*)`.as("n"),
      ])
      .where("session_id", "=", sessionId)
      .groupBy(["kind", "tool", "err"])
      .execute();
    return rows.map((r) => ({ kind: r.kind, tool: r.tool, isError: r.err === 1, n: Number(r.n) }));
  },

  /** Prompts no turn took up and nothing dropped (the session's queue, as stored), oldest first. */
  async unsentPrompts(db: Db, sessionId: string): Promise<TranscriptItem[]> {
    const rows = await t(db)
      .selectFrom("transcript_items")
      .selectAll()
      .where("session_id", "=", sessionId)
      .where("kind", "=", "user")
      .where(sql<string | null>`json_extract(data, '$.dropped')`, "is", null)
      .where(
        sql<boolean>`not exists (select 1 from turns where turns.session_id = transcript_items.session_id and turns.prompt_item_id = transcript_items.id)`,
      )
      .orderBy("seq")
      .execute();
    return rows.map((r) => ({
      id: r.id as TranscriptItem["id"],
      kind: "user",
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      data: JSON.parse(r.data),
    }));
  },

  /**
   * Tool calls still `running` that never will (the session was killed or failed, or the server
   * restarted): marked `cancelled`, with the reason as their result. Returns them as they now are.
   */
  async abandonTools(db: Db, sessionId: string, reason: string, at: string): Promise<TranscriptItem[]> {
    const rows = await t(db)
      .selectFrom("transcript_items")
      .selectAll()
      .where("session_id", "=", sessionId)
      .where("kind", "=", "tool")
      .where(sql<string>`json_extract(data, '$.status')`, "=", "running")
      .execute();
    const out: TranscriptItem[] = [];
    for (const r of rows) {
      const data = {
        ...(JSON.parse(r.data) as Record<string, unknown>),
        status: "cancelled",
        result: reason,
        isError: true,
      };
      await t(db)
        .updateTable("transcript_items")
        .set({ data: JSON.stringify(data), updated_at: at })
        .where("id", "=", r.id)
        .execute();
      out.push({
        id: r.id as TranscriptItem["id"],
        kind: "tool",
        createdAt: r.created_at,
        updatedAt: at,
        data,
      });
    }
    return out;
  },

  async itemByRef(db: Db, sessionId: string, ref: string): Promise<TranscriptItem | undefined> {
    const r = await t(db)
      .selectFrom("transcript_items")
      .selectAll()
      .where("session_id", "=", sessionId)
      .where("ref", "=", ref)
      .executeTakeFirst();
    return r
      ? {
          id: r.id as TranscriptItem["id"],
          kind: r.kind as TranscriptItem["kind"],
          createdAt: r.created_at,
          updatedAt: r.updated_at,
          data: JSON.parse(r.data),
        }
      : undefined;
  },

  async updateItem(db: Db, id: string, data: Record<string, unknown>, at: string): Promise<void> {
    await t(db)
      .updateTable("transcript_items")
      .set({ data: JSON.stringify(data), updated_at: at })
      .where("id", "=", id)
      .execute();
  },

  async listItems(
    db: Db,
    sessionId: string,
    afterSeq: number,
    limit: number,
  ): Promise<Array<TranscriptItem & { seq: number }>> {
    const rows = await t(db)
      .selectFrom("transcript_items")
      .selectAll()
      .where("session_id", "=", sessionId)
      .where("seq", ">", afterSeq)
      .orderBy("seq")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      id: r.id as TranscriptItem["id"],
      kind: r.kind as TranscriptItem["kind"],
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      data: JSON.parse(r.data),
    }));
  },
};
