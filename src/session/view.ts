// The public shape of a session: its record plus what only the live server knows.
import { approvalStore } from "../approval";
import type { SessionContext } from "./context";
import type { Session } from "./schema";
import { isLive } from "./status";
import type { SessionRecord } from "./store";

export async function sessionView(ctx: SessionContext, s: SessionRecord): Promise<Session> {
  const pending = isLive(s.status) ? await approvalStore.pending(ctx.db, s.id) : [];
  return {
    id: s.id as Session["id"],
    name: s.name,
    status: s.status,
    workDir: s.workDir,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    lastActivityAt: s.lastActivityAt,
    parentId: s.parentId,
    tenant: s.tenant,
    ownerKeyId: s.ownerKeyId,
    kind: s.kind,
    attention: s.attention,
    claudeSessionId: s.claudeSessionId,
    model: s.model,
    permissionMode: s.permissionMode,
    totals: s.totals,
    pendingApprovals: pending.map((a) => ({
      id: a.id,
      kind: a.kind,
      toolUseId: a.toolUseId,
      toolName: a.toolName,
      input: a.input,
      requestedAt: a.requestedAt,
      timeoutAt: a.timeoutAt,
    })),
    queuedMessages: ctx.lives.get(s.id)?.queue.length ?? 0,
    error: s.error,
  };
}
