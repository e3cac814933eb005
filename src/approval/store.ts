// Approval persistence (SQLite).
import { sql } from "kysely";
import type { Db } from "../store/db";
import type { Approval, ApprovalStatus, Decision } from "./schema";

interface ApprovalsTable {
  id: string;
  session_id: string;
  tool_use_id: string;
  tool_name: string;
  input: string;
  status: string;
  message: string | null;
  decided_by: string | null;
  requested_at: string;
  resolved_at: string | null;
  wait_ms: number | null;
  kind: string;
  decision: string | null;
  timeout_at: string | null;
}
type Tables = { approvals: ApprovalsTable };

const toApproval = (r: ApprovalsTable): Approval => ({
  id: r.id as Approval["id"],
  sessionId: r.session_id as Approval["sessionId"],
  kind: r.kind as Approval["kind"],
  decision: r.decision as Decision | null,
  decidedBy: r.decided_by,
  timeoutAt: r.timeout_at,
  toolUseId: r.tool_use_id,
  toolName: r.tool_name,
  input: JSON.parse(r.input),
  status: r.status as ApprovalStatus,
  message: r.message,
  requestedAt: r.requested_at,
  resolvedAt: r.resolved_at,
  waitMs: r.wait_ms,
});

export interface ApprovalFilter {
  sessionIds?: readonly string[] | undefined;
  /** Only approvals of the sessions a tenant (and owner) may see, chosen in the query itself. */
  sessionScope?: { tenant?: string | undefined; ownerKeyId?: string | undefined } | undefined;
  tool?: string | undefined;
  status?: ApprovalStatus | undefined;
  beforeId?: string | undefined;
  limit: number;
}

export const approvalStore = {
  /** Newest first. */
  async list(db: Db, f: ApprovalFilter): Promise<Approval[]> {
    let q = db.withTables<Tables>().selectFrom("approvals").selectAll().orderBy("id", "desc").limit(f.limit);
    if (f.sessionIds) q = q.where("session_id", "in", f.sessionIds.length ? [...f.sessionIds] : [""]);
    const scope = f.sessionScope;
    if (scope?.tenant !== undefined) {
      const owner = scope.ownerKeyId === undefined ? sql`` : sql` and owner_key_id = ${scope.ownerKeyId}`;
      q = q.where(sql<boolean>`session_id in (select id from sessions where tenant = ${scope.tenant}${owner})`);
    }
    if (f.tool) q = q.where("tool_name", "=", f.tool);
    if (f.status) q = q.where("status", "=", f.status);
    if (f.beforeId) q = q.where("id", "<", f.beforeId);
    return (await q.execute()).map(toApproval);
  },

  async insert(db: Db, a: Approval): Promise<void> {
    await db
      .withTables<Tables>()
      .insertInto("approvals")
      .values({
        id: a.id,
        session_id: a.sessionId,
        tool_use_id: a.toolUseId,
        tool_name: a.toolName,
        input: JSON.stringify(a.input),
        status: a.status,
        message: a.message,
        decided_by: null,
        requested_at: a.requestedAt,
        resolved_at: null,
        wait_ms: null,
        kind: a.kind,
        decision: null,
        timeout_at: a.timeoutAt,
      })
      .execute();
  },

  async resolve(
    db: Db,
    id: string,
    status: ApprovalStatus,
    message: string | null,
    at: string,
    waitMs: number,
    by: { decision?: Decision | null; decidedBy?: string | null } = {},
  ): Promise<boolean> {
    // Only a pending approval is settled: false when another outcome got there first.
    const r = await db
      .withTables<Tables>()
      .updateTable("approvals")
      .set({
        status,
        message,
        resolved_at: at,
        wait_ms: waitMs,
        decision: by.decision ?? null,
        decided_by: by.decidedBy ?? null,
      })
      .where("id", "=", id)
      .where("status", "=", "pending")
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async get(db: Db, id: string): Promise<Approval | undefined> {
    const r = await db.withTables<Tables>().selectFrom("approvals").selectAll().where("id", "=", id).executeTakeFirst();
    return r ? toApproval(r) : undefined;
  },

  async pending(db: Db, sessionId?: string): Promise<Approval[]> {
    let q = db.withTables<Tables>().selectFrom("approvals").selectAll().where("status", "=", "pending");
    if (sessionId) q = q.where("session_id", "=", sessionId);
    return (await q.orderBy("requested_at").orderBy("id").execute()).map(toApproval);
  },

  async forSession(db: Db, sessionId: string): Promise<Approval[]> {
    const rows = await db
      .withTables<Tables>()
      .selectFrom("approvals")
      .selectAll()
      .where("session_id", "=", sessionId)
      .orderBy("id")
      .execute();
    return rows.map(toApproval);
  },
};
