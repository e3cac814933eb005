// A turn's life: claimed when a prompt leaves for Claude Code, stored as it starts, closed with its
// usage (or error) when Claude Code reports the result, and followed by the next queued prompt.
import { event } from "../core/events";
import { newId } from "../core/ids";
import { truncateText } from "../core/truncate";
import type { RuntimeEvent } from "../runtime/types";
import type { Tx } from "../store/tx";
import { noteFailure } from "./breaker";
import { type ActiveTurn, type LiveSession, type SessionContext, transition } from "./context";
import { MessageDropped, MessageSubmitted, ToolCompleted, TurnFailed, TurnStarted, UsageRecorded } from "./events";
import type { TranscriptItem } from "./schema";
import { sessionStore } from "./store";

/**
 * Stores a prompt (transcript item and event); it joins the session's queue once the unit of work
 * commits, unless `toQueue` is false because the caller starts a turn with it.
 */
export async function storePrompt(
  tx: Tx,
  ctx: SessionContext,
  live: LiveSession,
  text: string,
  opts: { queued?: boolean; toQueue?: boolean; traceparent?: string | undefined } = {},
): Promise<string> {
  const itemId = newId("tri");
  const at = ctx.clock.now().toISOString();
  const stored = truncateText(text, ctx.config.transcript.maxItemChars);
  await sessionStore.addItem(tx.db, live.id, {
    id: itemId,
    kind: "user",
    createdAt: at,
    updatedAt: at,
    // A truncated prompt cannot be sent again from the transcript (see requeueUnsent).
    data: { text: stored.text, ...(stored.truncated ? { truncated: true } : {}) },
  });
  const queued = opts.queued ?? true;
  tx.emit(
    event(MessageSubmitted, live.id, {
      itemId,
      text: truncateText(text, ctx.config.events.maxPayloadChars).text,
      queued,
    }),
  );
  if (opts.toQueue ?? true) tx.afterCommit(() => live.queue.push({ text, itemId, traceparent: opts.traceparent }));
  return itemId;
}

/** Why a turn never finished: stored on the turn, and its turn.failed event's code. */
export const AbandonCodes = {
  serverRestarted: "SERVER_RESTARTED",
  killed: "SESSION_KILLED",
  sessionEnded: "SESSION_ENDED",
} as const;

/**
 * The turn and tool calls that will never finish (kill, failure, restart): each tool call closed
 * with a tool.completed event and the turn ended with `code` and the reason, as an error item and
 * a turn.failed event, so nothing stays `running` and readers of the stream see the turn end.
 */
export async function abandonUnfinished(
  tx: Tx,
  sessionId: string,
  at: string,
  reason: string,
  code: string,
): Promise<void> {
  for (const item of await sessionStore.abandonTools(tx.db, sessionId, reason, at)) {
    tx.emit(
      event(ToolCompleted, sessionId, {
        itemId: item.id,
        toolUseId: String(item.data.toolUseId),
        toolName: String(item.data.toolName),
        isError: true,
        output: reason,
        truncated: false,
        durationMs: null,
      }),
    );
  }
  for (const turnId of await sessionStore.abandonTurns(tx.db, sessionId, at, { code, message: reason })) {
    const data = { turnId, code, message: reason };
    await sessionStore.addItem(tx.db, sessionId, {
      id: newId("tri"),
      kind: "error",
      createdAt: at,
      updatedAt: at,
      data,
    });
    tx.emit(event(TurnFailed, sessionId, { ...data, status: null }));
  }
}

/**
 * Prompts that were queued and will not run (escape, or the session ended): marked `dropped` with
 * the reason in the transcript, each with a message.dropped event. Returns their item ids.
 */
export async function dropUnsent(tx: Tx, sessionId: string, reason: string, at: string): Promise<string[]> {
  const unsent = await sessionStore.unsentPrompts(tx.db, sessionId);
  for (const item of unsent) await dropPrompt(tx, sessionId, item, reason, at);
  return unsent.map((i) => i.id);
}

async function dropPrompt(tx: Tx, sessionId: string, item: TranscriptItem, reason: string, at: string) {
  await sessionStore.updateItem(tx.db, item.id, { ...item.data, dropped: reason }, at);
  tx.emit(event(MessageDropped, sessionId, { itemId: item.id, reason }));
}

/**
 * After a restart, the prompts that were queued when the server stopped: back in the session's
 * queue (they run once it is ready), or dropped if the transcript kept only part of one.
 */
export async function requeueUnsent(tx: Tx, live: LiveSession, at: string): Promise<void> {
  const unsent = await sessionStore.unsentPrompts(tx.db, live.id);
  const again: LiveSession["queue"] = [];
  for (const item of unsent) {
    if (item.data.truncated === true || typeof item.data.text !== "string") {
      const reason = "the server restarted before this prompt ran, and only part of it was stored; send it again";
      await dropPrompt(tx, live.id, item, reason, at);
    } else again.push({ text: item.data.text, itemId: item.id });
  }
  tx.afterCommit(() => live.queue.push(...again));
}

/** Starts the next queued prompt if the session is ready and no turn runs. */
export async function runNext(ctx: SessionContext, live: LiveSession): Promise<void> {
  if (live.breaker.tripped) {
    // A tripped breaker holds the queue until a person acts (a message resets it and runs the queue);
    // the session waits idle meanwhile.
    if (!live.turn && !live.closing && live.queue.length > 0)
      await ctx.transact((tx) =>
        transition(tx, ctx, live.id, "idle", { reason: "breaker tripped: queued prompts wait" }),
      );
    return;
  }
  if (!canStartTurn(live)) return;
  const next = live.queue.shift();
  if (!next || !live.handle) return;
  const handle = live.handle;
  const turn = claimTurn(ctx, live);
  // The prompt need not wait for its turn's record: that is queued for the database as the prompt
  // leaves (its write goes out first), and the database takes work in order, so it is stored before
  // anything Claude Code answers.
  handle.send(next.text);
  await ctx.transact((tx) => recordTurnStart(tx, ctx, live, turn, next.itemId, next.traceparent));
}

/** Whether a prompt sent now would start a turn at once. */
export function canStartTurn(live: LiveSession): boolean {
  return live.ready && !live.turn && !live.closing && live.handle !== null;
}

/** Makes a new turn the session's running one (in memory; recordTurnStart stores it). */
export function claimTurn(ctx: SessionContext, live: LiveSession): ActiveTurn {
  let markEnded = () => {};
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });
  const turn: ActiveTurn = {
    id: newId("trn"),
    startedAt: ctx.clock.monotonic(),
    firstTokenAt: null,
    interrupted: false,
    apiError: null,
    ended,
    markEnded,
  };
  live.turn = turn;
  return turn;
}

/** Opens a turn in its own unit of work. */
export async function beginTurn(ctx: SessionContext, live: LiveSession, itemId: string | null): Promise<void> {
  const turn = claimTurn(ctx, live);
  await ctx.transact((tx) => recordTurnStart(tx, ctx, live, turn, itemId));
}

/** A turn's record, the working status and the event, in the caller's unit of work. */
export async function recordTurnStart(
  tx: Tx,
  ctx: SessionContext,
  live: LiveSession,
  turn: ActiveTurn,
  itemId: string | null,
  traceparent?: string | undefined,
): Promise<void> {
  await recordTurn(tx, ctx, live, turn, itemId);
  await markWorking(tx, ctx, live, turn, itemId, traceparent);
}

/**
 * The turn's record: from here its prompt counts as sent (a restart does not send it again). From
 * the first prompt on, Claude Code has a conversation under this session id, so a restart must
 * resume it (starting anew with the same id is refused), even if Claude Code reported nothing yet.
 */
export async function recordTurn(
  tx: Tx,
  ctx: SessionContext,
  live: LiveSession,
  turn: ActiveTurn,
  itemId: string | null,
): Promise<void> {
  const at = ctx.clock.now().toISOString();
  await sessionStore.startTurn(tx.db, { id: turn.id, sessionId: live.id, promptItemId: itemId, startedAt: at });
  if (!live.conversationStarted) {
    await sessionStore.update(tx.db, live.id, { conversationStarted: true }, at);
    tx.afterCommit(() => {
      live.conversationStarted = true;
    });
  }
}

/** The session's working status and the turn's start event. */
export async function markWorking(
  tx: Tx,
  ctx: SessionContext,
  live: LiveSession,
  turn: ActiveTurn,
  itemId: string | null,
  traceparent?: string | undefined,
): Promise<void> {
  await transition(tx, ctx, live.id, "working", { reason: "turn started" });
  tx.emit(event(TurnStarted, live.id, { turnId: turn.id, itemId, ...(traceparent ? { traceparent } : {}) }));
}

export async function endTurn(
  ctx: SessionContext,
  live: LiveSession,
  e: Extract<RuntimeEvent, { type: "turn_result" }>,
) {
  const turn = live.turn;
  live.turn = null;
  if (!turn) return;
  const failed = !e.ok || turn.apiError !== null;
  const error = !failed
    ? null
    : turn.interrupted
      ? (turn.interruptedBy ?? { code: "INTERRUPTED", message: "The turn was interrupted." })
      : (turn.apiError ?? { code: e.subtype.toUpperCase(), message: e.errors.join("; ") || e.text || e.subtype });
  try {
    await recordEnd(ctx, live, turn, e, error);
  } finally {
    turn.markEnded();
  }
  if (error && !turn.interrupted)
    await noteFailure(ctx, live, `turn:${error.code}`, `turns keep failing (${error.code})`);
  await runNext(ctx, live);
}

async function recordEnd(
  ctx: SessionContext,
  live: LiveSession,
  turn: ActiveTurn,
  e: Extract<RuntimeEvent, { type: "turn_result" }>,
  error: { code: string; message: string } | null,
) {
  const nowMono = ctx.clock.monotonic();
  const at = ctx.clock.now().toISOString();
  const usage = { ...e.usage, costUsd: e.costUsd };
  const failed = error !== null;
  await ctx.transact(async (tx) => {
    // A kill or a failure that committed first closed the turn (with its own turn.failed): a result
    // Claude Code sent meanwhile changes nothing.
    const ended = await sessionStore.endTurn(tx.db, turn.id, {
      status: turn.interrupted ? "interrupted" : failed ? "failed" : "completed",
      endedAt: at,
      ttftMs: turn.firstTokenAt === null ? null : turn.firstTokenAt - turn.startedAt,
      durationMs: nowMono - turn.startedAt,
      apiDurationMs: e.durationApiMs,
      usage,
      modelUsage: e.modelUsage,
      error,
    });
    if (!ended) return;
    await sessionStore.addUsage(tx.db, live.id, usage);
    tx.emit(event(UsageRecorded, live.id, { turnId: turn.id, ...usage, byModel: e.usageByModel }));
    if (error) {
      const itemId = newId("tri");
      await sessionStore.addItem(tx.db, live.id, {
        id: itemId,
        kind: "error",
        createdAt: at,
        updatedAt: at,
        data: { turnId: turn.id, ...error },
      });
      tx.emit(
        event(TurnFailed, live.id, {
          turnId: turn.id,
          code: error.code,
          message: error.message,
          status: e.apiErrorStatus,
        }),
      );
    }
    if (live.queue.length === 0)
      await transition(tx, ctx, live.id, "idle", { reason: error ? `turn ended: ${error.code}` : "turn completed" });
  });
}

/** Asks Claude Code to stop the turn; a kill that closed the session meanwhile has stopped it already. */
export async function interruptTurn(live: LiveSession): Promise<void> {
  await live.handle?.interrupt().catch((err: unknown) => {
    if (!live.closing) throw err;
  });
}
