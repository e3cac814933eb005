// The circuit breaker: a session that repeats the same failing or denied tool call, or keeps
// failing its turns, is stopped and marked as needing attention until a person acts on it.
import { createHash } from "node:crypto";
import { event } from "../core/events";
import type { LiveSession, SessionContext } from "./context";
import { BreakerReset, BreakerTripped } from "./events";
import { sessionStore } from "./store";

export function callKey(toolName: string, input: unknown): string {
  return `${toolName}:${createHash("sha256")
    .update(JSON.stringify(input ?? null))
    .digest("hex")
    .slice(0, 16)}`;
}

/** Counts one failure; trips the breaker when the same failure repeats `maxRepeats` times in a row. */
export async function noteFailure(
  ctx: SessionContext,
  live: LiveSession,
  key: string,
  reason: string,
): Promise<boolean> {
  const b = live.breaker;
  b.count = b.key === key ? b.count + 1 : 1;
  b.key = key;
  const max = ctx.config.breaker.maxRepeats;
  if (b.tripped || max <= 0 || b.count < max) return false;
  b.tripped = true;
  const since = ctx.clock.now().toISOString();
  const why = `${reason} (${b.count} times in a row)`;
  await ctx.transact(async (tx) => {
    await sessionStore.setAttention(tx.db, live.id, { reason: why, since });
    tx.emit(event(BreakerTripped, live.id, { reason: why, count: b.count, key }));
    tx.audit({
      actor: { keyId: "system", role: null, tenant: null, ip: null },
      action: "session.breaker_tripped",
      target: { type: "session", id: live.id },
      params: { reason: why, key },
      outcome: "ok",
    });
  });
  if (live.turn && live.handle) {
    live.turn.interrupted = true;
    await live.handle.interrupt().catch((err) => ctx.log.warn({ err }, "breaker could not interrupt the turn"));
  }
  return true;
}

export function noteSuccess(live: LiveSession): void {
  if (!live.breaker.tripped) {
    live.breaker.key = null;
    live.breaker.count = 0;
  }
}

/** A person acted on the session: clear the breaker. */
export async function resetBreaker(ctx: SessionContext, live: LiveSession, by: string): Promise<void> {
  const b = live.breaker;
  const wasTripped = b.tripped;
  b.key = null;
  b.count = 0;
  b.tripped = false;
  if (!wasTripped) return;
  await ctx.transact(async (tx) => {
    await sessionStore.setAttention(tx.db, live.id, null);
    tx.emit(event(BreakerReset, live.id, { by }));
  });
}
