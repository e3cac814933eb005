// Restart survival: on start, resume the managed sessions a previous server left live and settle
// what observed ones were waiting for; on stop, end the Claude Code processes but keep the sessions
// live, so the next start resumes them, and answer the hooks held for observed ones.

import { ApprovalResolved, approvalStore } from "../approval";
import { actorOf, SYSTEM_CALLER } from "../auth";
import { event } from "../core/events";
import type { Tx } from "../store/tx";
import { recordExpiry } from "./approvals";
import { type LiveSession, newLive, type SessionContext, transition } from "./context";
import { flushDelta } from "./deltas";
import { startRuntime } from "./driver";
import { releaseHeld } from "./observed";
import { LIVE_STATUSES } from "./status";
import { type SessionRecord, sessionStore } from "./store";
import { AbandonCodes, abandonUnfinished, requeueUnsent } from "./turn";

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
    // The same automatic decision as an approval's timeout: a transcript item and an audit record.
    await recordExpiry(tx, sessionId, { ...a, approvalId: a.id }, reason, at, waitMs);
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
    await abandonUnfinished(tx, s.id, at, "the server restarted during this turn", AbandonCodes.serverRestarted);
    await transition(tx, ctx, s.id, "idle", { reason: "server restarted; waiting for the session's next hook" });
  });
}

export async function recoverSessions(ctx: SessionContext): Promise<number> {
  const all = await sessionStore.list(ctx.db, { status: LIVE_STATUSES });
  for (const s of all) if (s.kind === "observed" && s.status !== "idle") await settleObserved(ctx, s);
  const rows = all.filter((s) => s.kind === "managed");
  if (rows.length === 0) return 0;
  // A Claude Code that is missing now (a moved binary, a bad claudePath) may be back soon: the
  // sessions wait, `starting`, instead of failing for good on a resume that cannot work yet.
  const check = await ctx.runtime.check();
  const waiting = check.ok ? undefined : `waiting for Claude Code: ${check.error ?? "unavailable"}`;
  const resumed: Array<[LiveSession, SessionRecord]> = [];
  for (const s of rows) {
    const live = newLive(s);
    ctx.lives.set(s.id, live);
    await ctx.transact(async (tx) => {
      const at = ctx.clock.now().toISOString();
      await expirePending(tx, s.id, at, "the server restarted before a decision; the tool call did not run");
      await abandonUnfinished(tx, s.id, at, "the server restarted during this turn", AbandonCodes.serverRestarted);
      await requeueUnsent(tx, live, at);
      await transition(tx, ctx, s.id, "starting", {
        reason: waiting ? `server restarted; ${waiting}` : "server restarted",
      });
      tx.audit({
        actor: actorOf(SYSTEM_CALLER),
        action: "session.resume",
        target: { type: "session", id: s.id },
        params: { claudeSessionId: s.claudeSessionId },
        outcome: "ok",
      });
    });
    resumed.push([live, s]);
  }
  if (waiting) {
    ctx.log.warn({ sessions: rows.length, error: check.error }, `live sessions wait: ${waiting}`);
    resumeOnceAvailable(ctx, resumed, ctx.config.runtime.recheckMs);
  } else for (const [live, s] of resumed) resume(ctx, live, s);
  return rows.length;
}

function resume(ctx: SessionContext, live: LiveSession, s: SessionRecord) {
  startRuntime(ctx, live, s, s.conversationStarted).catch((err: unknown) =>
    ctx.log.error({ err, sessionId: s.id }, "could not resume the session"),
  );
}

/** Checks for Claude Code every `ms` until it answers (or the server stops), then resumes the sessions. */
function resumeOnceAvailable(ctx: SessionContext, sessions: Array<[LiveSession, SessionRecord]>, ms: number) {
  const again = () => {
    if (ctx.lifecycle.stopping) return;
    ctx.runtime.check().then(
      (check) => {
        if (ctx.lifecycle.stopping) return;
        if (!check.ok) return void setTimeout(again, ms).unref();
        ctx.log.info({ sessions: sessions.length }, "Claude Code is available again; resuming the live sessions");
        // A session killed meanwhile is closing, and startRuntime leaves it alone.
        for (const [live, s] of sessions) resume(ctx, live, s);
      },
      (err: unknown) => {
        ctx.log.warn({ err }, "could not check for Claude Code; trying again");
        setTimeout(again, ms).unref();
      },
    );
  };
  setTimeout(again, ms).unref();
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
  // A running turn is interrupted, and its end stored, before its process goes: closed mid-turn,
  // Claude Code would carry on unrecorded until the SDK stops it (a tool call, a model request).
  await Promise.race([Promise.allSettled(lives.map((l) => stopTurn(ctx, l))), grace]);
  await Promise.race([Promise.allSettled(lives.map((l) => l.handle?.close())), grace]);
  ctx.lives.clear();
}

const SERVER_STOPPED = {
  code: "SERVER_STOPPED",
  message: "The server stopped during this turn; the session resumes when it starts again.",
};

async function stopTurn(ctx: SessionContext, live: LiveSession): Promise<void> {
  const turn = live.turn;
  if (!turn || !live.handle) return;
  turn.interrupted = true;
  turn.interruptedBy = SERVER_STOPPED;
  try {
    await live.handle.interrupt();
  } catch (err) {
    ctx.log.warn({ err, sessionId: live.id }, "could not interrupt the turn; stopping Claude Code anyway");
    return;
  }
  await turn.ended;
}
