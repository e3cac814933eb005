// Restart survival: on start, resume the managed sessions a previous server left live; on stop,
// end the Claude Code processes but keep the sessions live, so the next start resumes them.

import { ApprovalResolved, approvalStore } from "../approval";
import { actorOf, SYSTEM_CALLER } from "../auth";
import { event } from "../core/events";
import { newLive, type SessionContext, transition } from "./context";
import { flushDelta } from "./deltas";
import { startRuntime } from "./driver";
import { LIVE_STATUSES } from "./status";
import { sessionStore } from "./store";

export async function recoverSessions(ctx: SessionContext): Promise<number> {
  // Observed sessions have no process of ours to resume; their next hook brings them back.
  const rows = (await sessionStore.list(ctx.db, { status: LIVE_STATUSES })).filter((s) => s.kind === "managed");
  const reason = "the server restarted before a decision; the tool call did not run";
  for (const s of rows) {
    const live = newLive(s.id);
    ctx.lives.set(s.id, live);
    await ctx.transact(async (tx) => {
      const at = ctx.clock.now().toISOString();
      for (const a of await approvalStore.pending(tx.db, s.id)) {
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
        tx.emit(event(ApprovalResolved, s.id, data));
      }
      await sessionStore.abandonTurns(tx.db, s.id, at, "the server restarted during this turn");
      await transition(tx, ctx, s.id, "starting", { reason: "server restarted" });
      tx.audit({
        actor: actorOf(SYSTEM_CALLER),
        action: "session.resume",
        target: { type: "session", id: s.id },
        params: { claudeSessionId: s.claudeSessionId },
        outcome: "ok",
      });
    });
    void startRuntime(ctx, live, s, s.conversationStarted);
  }
  return rows.length;
}

export async function shutdownSessions(ctx: SessionContext): Promise<void> {
  const lives = [...ctx.lives.values()];
  for (const l of lives) l.closing = true;
  // Streamed text not published yet goes out now, while the database is still open.
  await Promise.allSettled(lives.map((l) => flushDelta(ctx, l)));
  const grace = new Promise((r) => setTimeout(r, ctx.config.runtime.shutdownGraceMs).unref());
  await Promise.race([Promise.allSettled(lives.map((l) => l.handle?.close())), grace]);
  ctx.lives.clear();
}
