// Text deltas, paced: a message's first delta is published at once, the text after it is merged
// into at most one event per `events.deltaIntervalMs`, and whatever is pending is published before
// any other event of the session, so readers always see the deltas ahead of the message they build.
// A credential handed to the session is scrubbed from the joined text, and a paced delta holds back
// a tail that could begin one: split across pieces, it would otherwise pass in two halves.
import { type LiveSession, publish, type SessionContext, scrub } from "./context";
import { MessageDelta } from "./events";

export interface PendingDelta {
  turnId: string | null;
  text: string;
  /** Monotonic ms when the last delta event went out (-Infinity: none yet in this message). */
  lastAt: number;
  timer: NodeJS.Timeout | null;
}

export const noDelta = (): PendingDelta => ({ turnId: null, text: "", lastAt: Number.NEGATIVE_INFINITY, timer: null });

/** Adds text to the session's pending delta, publishing it now if the interval has passed. */
export async function addDelta(ctx: SessionContext, live: LiveSession, turnId: string, text: string): Promise<void> {
  const d = live.delta;
  if (d.turnId !== turnId) {
    await flushDelta(ctx, live);
    d.lastAt = Number.NEGATIVE_INFINITY;
  }
  d.turnId = turnId;
  d.text += text;
  const wait = d.lastAt + ctx.config.events.deltaIntervalMs - ctx.clock.monotonic();
  if (wait <= 0) return flushDelta(ctx, live, { final: false });
  // The timer fires after the current unit of work is over, so it opens its own.
  const root = ctx.outer ?? ctx;
  d.timer ??= setTimeout(() => {
    d.timer = null;
    flushDelta(root, live, { final: false }).catch((err: unknown) =>
      root.log.error({ err, sessionId: live.id }, "failed to publish a text delta"),
    );
  }, wait);
}

/**
 * Publishes the pending delta, if any; call it before any other event of the session. A paced
 * flush (`final: false`) keeps back a tail that could be the start of a credential.
 */
export async function flushDelta(ctx: SessionContext, live: LiveSession, opts = { final: true }): Promise<void> {
  const d = live.delta;
  if (d.timer) {
    clearTimeout(d.timer);
    d.timer = null;
  }
  if (!d.text || d.turnId === null) return;
  // Taken before the write is queued: a timer and the next event cannot both publish it.
  const hold = opts.final ? 0 : credentialStart(d.text, live.secrets);
  const text = scrub(live, d.text.slice(0, d.text.length - hold));
  d.text = d.text.slice(d.text.length - hold);
  if (!text) return;
  d.lastAt = ctx.clock.monotonic();
  await publish(ctx, live.id, MessageDelta, { turnId: d.turnId, text });
}

/** How long a tail of `text` could begin one of `secrets` (the longest such tail; 0 if none). */
export function credentialStart(text: string, secrets: readonly string[]): number {
  let hold = 0;
  for (const s of secrets) {
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(s.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

/** A new message starts: its first delta goes out at once. */
export function newMessage(live: LiveSession): void {
  live.delta.lastAt = Number.NEGATIVE_INFINITY;
}
