// Session persistence (SQLite): session rows, with transcript items (item-store.ts) and turns (turn-store.ts).

import type { PermissionMode } from "../runtime/types";
import type { Db } from "../store/db";
import { statement } from "../store/statement";
import { itemStore } from "./item-store";
import { turnStore } from "./turn-store";

export type { TurnRecord } from "./turn-store";

import type { SessionOptions } from "./schema";
import type { SessionStatus } from "./status";

interface SessionsTable {
  id: string;
  name: string | null;
  status: string;
  work_dir: string;
  parent_id: string | null;
  claude_session_id: string;
  conversation_started: number;
  model: string | null;
  permission_mode: string;
  options: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
  last_activity_at: string;
  tenant: string;
  owner_key_id: string | null;
  kind: string;
  attention: string | null;
}
type Tables = { sessions: SessionsTable };

export interface SessionRecord {
  id: string;
  tenant: string;
  ownerKeyId: string | null;
  kind: "managed" | "observed";
  attention: { reason: string; since: string } | null;
  name: string | null;
  status: SessionStatus;
  workDir: string;
  parentId: string | null;
  claudeSessionId: string;
  conversationStarted: boolean;
  model: string | null;
  permissionMode: PermissionMode;
  options: SessionOptions;
  totals: {
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    costUsd: number;
  };
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  lastActivityAt: string;
}

const toRecord = (r: SessionsTable): SessionRecord => ({
  id: r.id,
  tenant: r.tenant,
  ownerKeyId: r.owner_key_id,
  kind: r.kind as SessionRecord["kind"],
  attention: r.attention ? JSON.parse(r.attention) : null,
  name: r.name,
  status: r.status as SessionStatus,
  workDir: r.work_dir,
  parentId: r.parent_id,
  claudeSessionId: r.claude_session_id,
  conversationStarted: r.conversation_started === 1,
  model: r.model,
  permissionMode: r.permission_mode as PermissionMode,
  options: JSON.parse(r.options),
  totals: {
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cacheReadTokens: r.cache_read_tokens,
    cacheWriteTokens: r.cache_write_tokens,
    costUsd: r.cost_usd,
  },
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? "" } : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  lastActivityAt: r.last_activity_at,
});

const t = (db: Db) => db.withTables<Tables>();

const selectStatus = statement<{ status: string }>("select status from sessions where id = ?");
const addUsage = statement(
  `update sessions set input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,
    cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?, cost_usd = cost_usd + ?
    where id = ?`,
);
const updateStatus = statement("update sessions set updated_at = ?, last_activity_at = ?, status = ? where id = ?");

export interface SessionFilter {
  tenant?: string | undefined;
  ownerKeyId?: string | undefined;
  status?: SessionStatus | readonly SessionStatus[] | undefined;
  workDir?: string | undefined;
  name?: string | undefined;
  beforeId?: string | undefined;
  limit?: number | undefined;
}

export const sessionStore = {
  ...turnStore,
  ...itemStore,
  async insert(db: Db, s: SessionRecord): Promise<void> {
    await t(db)
      .insertInto("sessions")
      .values({
        id: s.id,
        tenant: s.tenant,
        owner_key_id: s.ownerKeyId,
        kind: s.kind,
        attention: null,
        name: s.name,
        status: s.status,
        work_dir: s.workDir,
        parent_id: s.parentId,
        claude_session_id: s.claudeSessionId,
        conversation_started: s.conversationStarted ? 1 : 0,
        model: s.model,
        permission_mode: s.permissionMode,
        options: JSON.stringify(s.options),
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cost_usd: 0,
        error_code: null,
        error_message: null,
        created_at: s.createdAt,
        updated_at: s.updatedAt,
        last_activity_at: s.lastActivityAt,
      })
      .execute();
  },

  async get(db: Db, id: string): Promise<SessionRecord | undefined> {
    const r = await t(db).selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  },

  /** Just the status (status changes read it on every turn; the whole row is not needed). */
  async statusOf(db: Db, id: string): Promise<SessionStatus | undefined> {
    const [r] = await selectStatus.run(db, [id]);
    return r?.status as SessionStatus | undefined;
  },

  /** The tenant's live session with this name, else its newest ended one. */
  async getByName(db: Db, name: string, tenant: string | undefined): Promise<SessionRecord | undefined> {
    let q = t(db).selectFrom("sessions").selectAll().where("name", "=", name);
    if (tenant) q = q.where("tenant", "=", tenant);
    const r = await q
      .orderBy((eb) => eb.case().when("status", "in", ["stopped", "failed"]).then(1).else(0).end())
      .orderBy("id", "desc")
      .executeTakeFirst();
    return r ? toRecord(r) : undefined;
  },

  async list(db: Db, f: SessionFilter): Promise<SessionRecord[]> {
    let q = t(db).selectFrom("sessions").selectAll().orderBy("id", "desc");
    if (typeof f.status === "string") q = q.where("status", "=", f.status);
    else if (f.status) q = q.where("status", "in", [...f.status]);
    if (f.workDir) q = q.where("work_dir", "=", f.workDir);
    if (f.tenant) q = q.where("tenant", "=", f.tenant);
    if (f.ownerKeyId) q = q.where("owner_key_id", "=", f.ownerKeyId);
    if (f.name) q = q.where("name", "=", f.name);
    if (f.beforeId) q = q.where("id", "<", f.beforeId);
    if (f.limit) q = q.limit(f.limit);
    return (await q.execute()).map(toRecord);
  },

  async byClaudeSession(
    db: Db,
    claudeSessionId: string,
    kind: SessionRecord["kind"],
  ): Promise<SessionRecord | undefined> {
    const r = await t(db)
      .selectFrom("sessions")
      .selectAll()
      .where("claude_session_id", "=", claudeSessionId)
      .where("kind", "=", kind)
      .orderBy("id", "desc")
      .executeTakeFirst();
    return r ? toRecord(r) : undefined;
  },

  async setAttention(db: Db, id: string, attention: SessionRecord["attention"]): Promise<void> {
    await t(db)
      .updateTable("sessions")
      .set({ attention: attention ? JSON.stringify(attention) : null })
      .where("id", "=", id)
      .execute();
  },

  async countLive(db: Db, by: { tenant?: string; ownerKeyId?: string }): Promise<number> {
    let q = t(db)
      .selectFrom("sessions")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("status", "not in", ["stopped", "failed"]);
    if (by.tenant) q = q.where("tenant", "=", by.tenant);
    if (by.ownerKeyId) q = q.where("owner_key_id", "=", by.ownerKeyId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  },

  /** How many sessions are in each status (statuses with none are absent). */
  async countByStatus(db: Db): Promise<Array<{ status: SessionStatus; n: number }>> {
    const rows = await t(db)
      .selectFrom("sessions")
      .select((eb) => ["status", eb.fn.countAll<number>().as("n")])
      .groupBy("status")
      .execute();
    return rows.map((r) => ({ status: r.status as SessionStatus, n: Number(r.n) }));
  },

  async update(
    db: Db,
    id: string,
    patch: Partial<{
      status: SessionStatus;
      model: string | null;
      permissionMode: PermissionMode;
      conversationStarted: boolean;
      error: { code: string; message: string } | null;
    }>,
    at: string,
  ): Promise<void> {
    // A status change alone (every turn, twice) takes the fixed statement.
    const { status, ...rest } = patch;
    if (status && Object.values(rest).every((v) => v === undefined)) {
      await updateStatus.run(db, [at, at, status, id]);
      return;
    }
    await t(db)
      .updateTable("sessions")
      .set({
        updated_at: at,
        last_activity_at: at,
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.model !== undefined ? { model: patch.model } : {}),
        ...(patch.permissionMode ? { permission_mode: patch.permissionMode } : {}),
        ...(patch.conversationStarted !== undefined ? { conversation_started: patch.conversationStarted ? 1 : 0 } : {}),
        ...(patch.error !== undefined
          ? { error_code: patch.error?.code ?? null, error_message: patch.error?.message ?? null }
          : {}),
      })
      .where("id", "=", id)
      .execute();
  },

  async addUsage(db: Db, id: string, u: SessionRecord["totals"]): Promise<void> {
    await addUsage.run(db, [u.inputTokens, u.outputTokens, u.cacheReadTokens, u.cacheWriteTokens, u.costUsd, id]);
  },

  // --- transcript ---
};
