// Restart survival: on start, resume the managed sessions a previous server left live and settle
// what observed ones were waiting for; on stop, end the Claude Code processes but keep the sessions
// live, so the next start resumes them, and answer the hooks held for observed ones.

import { ApprovalResolved, approvalStore } from "../approval";
import { actorOf, SYSTEM_CALLER } from "../auth";
import { event } from "../core/events";
import type { Tx } from "../store/tx";
import { newLive, type SessionContext, transition } from "./context";
import { flushDelta } from "./deltas";
import { startRuntime } from "./driver";
import { releaseHeld } from "./observed";
import { LIVE_STATUSES } from "./status";
import { type SessionRecord, sessionStore } from "./store";
import { abandonUnfinished, requeueUnsent } from "./turn";

/** Records every approval still pending for a session as expired, with its approval.resolved event. */
async function expirePending(tx: Tx, sessionId: string, at: string, reason: string) {
  for (const a of await approvalStore.pending(tx.db, sessionId)) {
    const waitMs = Date.parse(at) - Date.parse(a.requestedAt);
    await approvalStore.resolve(tx.db, a.id, "expired", reason, at, waitMs, { decidedBy: "system" });
    const data = {
      approvalId: a.id,
      toolUseId: a.toolUseId,
      toolName: a.toolName,
      status: "expired" as const,
      message: reason,
      waitMs,
    };
    tx.emit(event(ApprovalResolved, sessionId, data));
  }
}

/**
 * An observed session has no process of ours to resume. Its held PermissionRequest hooks were
 * answered on shutdown (or dropped by a crash), so Claude Code decided those calls itself: the
 * approvals expire, the unfinished turn is abandoned, and the session waits, idle, for its next hook.
 */
async function settleObserved(ctx: SessionContext, s: SessionRecord) {
  await ctx.transact(async (tx) => {
    const at = ctx.clock.now().toISOString();
    await expirePending(
      tx,
      s.id,
      at,
      "the server restarted before a decision; Claude Code's own permission flow decided",
    );
    await abandonUnfinished(tx, s.id, at, "the server restarted during this turn");
    await transition(tx, ctx, s.id, "idle", { reason: "server restarted; waiting for the session's next hook" });
  });
}

export async function recoverSessions(ctx: SessionContext): Promise<number> {
  const all = await sessionStore.list(ctx.db, { status: LIVE_STATUSES });
  for (const s of all) if (s.kind === "observed" && s.status !== "idle") await settleObserved(ctx, s);
  const rows = all.filter((s) => s.kind === "managed");
  for (const s of rows) {
    const live = newLive(s);
    ctx.lives.set(s.id, live);
    await ctx.transact(async (tx) => {
      const at = ctx.clock.now().toISOString();
      await expirePending(tx, s.id, at, "the server restarted before a decision; the tool call did not run");
      await abandonUnfinished(tx, s.id, at, "the server restarted during this turn");
      await requeueUnsent(tx, live, at);
      await transition(tx, ctx, s.id, "starting", { reason: "server restarted" });
      tx.audit({
        actor: actorOf(SYSTEM_CALLER),
        action: "session.resume",
        target: { type: "session", id: s.id },
        params: { claudeSessionId: s.claudeSessionId },
        outcome: "ok",
      });
    });
    startRuntime(ctx, live, s, s.conversationStarted).catch((err: unknown) =>
      ctx.log.error({ err, sessionId: s.id }, "could not resume the session"),
    );
  }
  return rows.length;
}

export async function shutdownSessions(ctx: SessionContext): Promise<void> {
  ctx.lifecycle.stopping = true;
  const lives = [...ctx.lives.values()];
  for (const l of lives) l.closing = true;
  // Streamed text not published yet goes out now, while the database is still open.
  await Promise.allSettled(lives.map((l) => flushDelta(ctx, l)));
  // Observed sessions (no process of ours): their held hooks get an answer now, not at their timeout.
  for (const l of lives) if (!l.handle) releaseHeld(l.approvals.values());
  const grace = new Promise((r) => setTimeout(r, ctx.config.runtime.shutdownGraceMs).unref());
  await Promise.race([Promise.allSettled(lives.map((l) => l.handle?.close())), grace]);
  ctx.lives.clear();
}
