// A caller's prompt for a live session: stored and audited, then sent to Claude Code as its turn
// starts, or queued behind the turn that is running.
import type { Caller } from "../auth";
import type { AuditEntry } from "../core/audit";
import { resetBreaker } from "./breaker";
import { type LiveSession, type SessionContext, within } from "./context";
import { SessionErrors } from "./errors";
import { canStartTurn, claimTurn, markWorking, recordTurn, runNext, storePrompt } from "./turn";

/** `audit(queued)`: the audit entry of this prompt, once it is known whether it queues. */
export async function sendPrompt(
  ctx: SessionContext,
  live: LiveSession,
  text: string,
  caller: Caller,
  audit: (queued: boolean) => AuditEntry,
): Promise<{ queued: boolean; position: number }> {
  if (live.queue.length >= ctx.config.sessions.maxQueuedMessages) throw SessionErrors.queueFull();
  // An idle session starts the turn: the prompt leaves once its record, its turn and the audit
  // record have committed. The working status follows in a unit of work queued as it leaves (its
  // write goes out first); the database takes work in order, so that is stored before anything
  // Claude Code answers.
  const turn = canStartTurn(live) && live.queue.length === 0 ? claimTurn(ctx, live) : null;
  const queued = turn === null;
  let itemId: string;
  try {
    itemId = await ctx.transact(async (tx) => {
      const itemId = await storePrompt(tx, ctx, live, text, {
        queued,
        toQueue: turn === null,
        traceparent: caller.traceparent,
      });
      tx.audit(audit(queued));
      await resetBreaker(within(ctx, tx), live, caller.principal.keyId);
      if (!turn) return itemId;
      await recordTurn(tx, ctx, live, turn, itemId);
      // Ahead of the unit's events: the prompt's write is what the turn waits on.
      tx.afterCommit(() => live.handle?.send(text));
      return itemId;
    });
  } catch (err) {
    // Nothing was sent: the turn never started.
    if (turn && live.turn === turn) live.turn = null;
    throw err;
  }
  // The prompt is with Claude Code now and its turn runs whatever happens here; were this unit to
  // fail, the caller hears of it, and the turn still ends (and frees the session) when Claude Code
  // finishes, so a retry queues behind it.
  if (turn) await ctx.transact((tx) => markWorking(tx, ctx, live, turn, itemId, caller.traceparent));
  const position = queued ? live.queue.length : 0;
  if (queued) await runNext(ctx, live);
  return { queued, position };
}
