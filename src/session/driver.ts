// Drives one live session: starts Claude Code, runs turns from the queue, and turns runtime
// events into stored state, transcript items and published events.
import { event } from "../core/events";
import { newId } from "../core/ids";
import { truncateDeep, truncateText } from "../core/truncate";
import type { RuntimeEvent } from "../runtime/types";
import { requestPermission } from "./approvals";
import { callKey, noteFailure, noteSuccess } from "./breaker";
import { type LiveSession, publish, type SessionContext, scrub, settleApprovals, transition } from "./context";
import { SessionFailureCodes } from "./errors";
import {
  MessageCompleted,
  MessageDelta,
  ModelResponded,
  ToolCalled,
  ToolCompleted,
  TurnFailed,
  TurnRetried,
  TurnStarted,
  UsageRecorded,
} from "./events";
import { type SessionRecord, sessionStore } from "./store";

const AUTH_HINT =
  "Claude Code has no valid credentials. Set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the server's environment " +
  "or under runtime.env in the Aegis config, or log in with `claude login` as the user running Aegis, then create a new session.";

export async function startRuntime(ctx: SessionContext, live: LiveSession, s: SessionRecord, resume: boolean) {
  const path = await ctx.modelPath?.(s);
  if (live.closing) return;
  // The session's gateway token is its own, but it must not reach transcripts or events.
  live.secrets = [path?.env.ANTHROPIC_API_KEY, path?.env.ANTHROPIC_AUTH_TOKEN].filter((v): v is string => !!v);
  const handle = ctx.runtime.start({
    claudeSessionId: s.claudeSessionId,
    resume,
    workDir: s.workDir,
    model: s.model ?? ctx.config.sessions.defaultModel,
    permissionMode: s.permissionMode,
    ...s.options,
    ...(path ? { env: { ...s.options.env, ...path.env }, unsetEnv: path.unsetEnv } : {}),
    onPermission: (req) => requestPermission(ctx, live, s.workDir, req),
  });
  live.handle = handle;
  void consume(ctx, live);

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Claude Code did not start within ${ctx.config.runtime.startTimeoutMs} ms`)),
      ctx.config.runtime.startTimeoutMs,
    );
  });
  try {
    await Promise.race([handle.ready(), timeout]);
  } catch (err) {
    if (live.closing) return;
    const code = resume ? SessionFailureCodes.resumeFailed : SessionFailureCodes.startFailed;
    await fail(ctx, live, code, `Claude Code could not start: ${(err as Error).message}`);
    return;
  } finally {
    clearTimeout(timer);
  }
  if (live.closing) return;
  live.ready = true;
  await ctx.transact(async (tx) => {
    await transition(tx, ctx, live.id, "idle", { reason: resume ? "resumed" : "ready" });
  });
  await runNext(ctx, live);
}

/** Starts the next queued prompt if the session is ready and no turn runs. */
export async function runNext(ctx: SessionContext, live: LiveSession): Promise<void> {
  if (!live.ready || live.turn || live.closing || !live.handle) return;
  const next = live.queue.shift();
  if (!next) return;
  const handle = live.handle;
  // The turn's record is queued for the database before the prompt leaves, and the database takes
  // work in order, so it is stored before anything Claude Code answers; the prompt need not wait.
  const opened = beginTurn(ctx, live, next.itemId);
  handle.send(next.text);
  await opened;
}

/** Opens a turn: its record, the working status and the event. */
export async function beginTurn(ctx: SessionContext, live: LiveSession, itemId: string | null): Promise<void> {
  const turnId = newId("trn");
  live.turn = { id: turnId, startedAt: ctx.clock.monotonic(), firstTokenAt: null, interrupted: false, apiError: null };
  await ctx.transact(async (tx) => {
    const at = ctx.clock.now().toISOString();
    await sessionStore.startTurn(tx.db, { id: turnId, sessionId: live.id, promptItemId: itemId, startedAt: at });
    await transition(tx, ctx, live.id, "working", { reason: "turn started" });
    tx.emit(event(TurnStarted, live.id, { turnId, itemId }));
  });
}

export async function fail(ctx: SessionContext, live: LiveSession, code: string, message: string): Promise<void> {
  if (live.closing) return;
  live.closing = true;
  ctx.log.warn({ sessionId: live.id, code }, message);
  await ctx.transact(async (tx) => {
    await settleApprovals(tx, ctx, live, "cancelled", `session failed: ${code}`);
    await sessionStore.abandonTurns(tx.db, live.id, ctx.clock.now().toISOString(), message);
    await transition(tx, ctx, live.id, "failed", { reason: code, error: { code, message } });
  });
  live.queue.length = 0;
  ctx.lives.delete(live.id);
  await live.handle?.close();
}

async function consume(ctx: SessionContext, live: LiveSession): Promise<void> {
  const handle = live.handle;
  if (!handle) return;
  const isDelta = (x: RuntimeEvent): x is Extract<RuntimeEvent, { type: "text_delta" }> => x.type === "text_delta";
  for await (const raw of handle.events) {
    try {
      // Deltas that piled up while the last one was being stored go out as one event.
      const more = isDelta(raw) ? (handle.events.takeWhile?.(isDelta) ?? []) : [];
      const merged =
        more.length > 0 && isDelta(raw) ? { ...raw, text: raw.text + more.map((m) => m.text).join("") } : raw;
      await handleEvent(ctx, live, live.secrets.length > 0 ? scrubEvent(live, merged) : merged);
    } catch (err) {
      ctx.log.error({ err, sessionId: live.id, event: raw.type }, "failed to record a runtime event");
    }
  }
}

function scrubEvent(live: LiveSession, e: RuntimeEvent): RuntimeEvent {
  switch (e.type) {
    case "text_delta":
    case "assistant_text":
      return { ...e, text: scrub(live, e.text) };
    case "tool_result":
      return { ...e, output: scrub(live, e.output) };
    case "tool_use": {
      const json = JSON.stringify(e.input);
      const clean = scrub(live, json);
      return clean === json ? e : { ...e, input: JSON.parse(clean) };
    }
    default:
      return e;
  }
}

/** Records one runtime event; observed sessions feed their hook events through here too. */
export async function handleEvent(ctx: SessionContext, live: LiveSession, e: RuntimeEvent): Promise<void> {
  const turn = live.turn;
  const now = ctx.clock.now().toISOString();
  switch (e.type) {
    case "init":
      // Claude Code repeats init on every turn; store it only when something changed.
      if (live.model === e.model) return;
      live.model = e.model;
      await ctx.transact(async (tx) => {
        await sessionStore.update(tx.db, live.id, { model: e.model, conversationStarted: true }, now);
      });
      return;
    case "message_started":
      return;
    case "message_finished":
      await publish(ctx, live.id, ModelResponded, {
        turnId: turn?.id ?? null,
        messageId: e.messageId,
        model: e.model,
        stopReason: e.stopReason,
        ...e.usage,
      });
      return;
    case "text_delta":
      if (!turn) return;
      turn.firstTokenAt ??= ctx.clock.monotonic();
      await publish(ctx, live.id, MessageDelta, { turnId: turn.id, text: e.text });
      return;
    case "assistant_text": {
      if (turn) turn.firstTokenAt ??= ctx.clock.monotonic();
      const itemId = newId("tri");
      const text = truncateText(e.text, ctx.config.transcript.maxItemChars).text;
      await ctx.transact(async (tx) => {
        await sessionStore.addItem(tx.db, live.id, {
          id: itemId,
          kind: "assistant",
          createdAt: now,
          updatedAt: now,
          data: { text, turnId: turn?.id ?? null },
        });
        tx.emit(
          event(MessageCompleted, live.id, {
            turnId: turn?.id ?? "",
            itemId,
            text: truncateText(e.text, ctx.config.events.maxPayloadChars).text,
          }),
        );
      });
      return;
    }
    case "tool_use": {
      if (turn) turn.firstTokenAt ??= ctx.clock.monotonic();
      const itemId = newId("tri");
      live.tools.set(e.toolUseId, { itemId, name: e.name, input: e.input, startedAt: ctx.clock.monotonic() });
      await ctx.transact(async (tx) => {
        const data = {
          toolUseId: e.toolUseId,
          toolName: e.name,
          input: truncateDeep(e.input, ctx.config.transcript.maxItemChars),
          status: "running",
          result: null,
          isError: null,
          durationMs: null,
          turnId: turn?.id ?? null,
        };
        await sessionStore.addItem(
          tx.db,
          live.id,
          { id: itemId, kind: "tool", createdAt: now, updatedAt: now, data },
          e.toolUseId,
        );
        tx.emit(
          event(ToolCalled, live.id, {
            turnId: turn?.id ?? null,
            itemId,
            toolUseId: e.toolUseId,
            toolName: e.name,
            input: truncateDeep(e.input, ctx.config.events.maxPayloadChars),
          }),
        );
      });
      return;
    }
    case "tool_result": {
      const started = live.tools.get(e.toolUseId);
      live.tools.delete(e.toolUseId);
      const durationMs = started ? Math.round(ctx.clock.monotonic() - started.startedAt) : null;
      await ctx.transact(async (tx) => {
        const item = await sessionStore.itemByRef(tx.db, live.id, e.toolUseId);
        if (!item) return;
        const full = truncateText(e.output, ctx.config.transcript.maxItemChars);
        await sessionStore.updateItem(
          tx.db,
          item.id,
          {
            ...item.data,
            status: e.isError ? "error" : "completed",
            result: full.text,
            isError: e.isError,
            durationMs,
          },
          now,
        );
        const short = truncateText(e.output, ctx.config.events.maxPayloadChars);
        tx.emit(
          event(ToolCompleted, live.id, {
            itemId: item.id,
            toolUseId: e.toolUseId,
            toolName: String(item.data.toolName),
            isError: e.isError,
            output: short.text,
            truncated: short.truncated,
            durationMs,
          }),
        );
      });
      if (!started) return;
      if (e.isError) await noteFailure(ctx, live, callKey(started.name, started.input), `${started.name} kept failing`);
      else noteSuccess(live);
      return;
    }
    case "api_retry":
      await publish(ctx, live.id, TurnRetried, {
        turnId: turn?.id ?? null,
        attempt: e.attempt,
        maxRetries: e.maxRetries,
        status: e.status,
        error: e.error,
      });
      return;
    case "api_error":
      if (e.error === "authentication_failed") {
        await fail(ctx, live, SessionFailureCodes.authRequired, `${AUTH_HINT} (Claude Code said: ${e.text})`);
        return;
      }
      if (turn) turn.apiError = { code: "MODEL_API_ERROR", message: `${e.error}: ${e.text}` };
      return;
    case "turn_result":
      await endTurn(ctx, live, e);
      return;
    case "exited":
      if (!live.closing) {
        await fail(
          ctx,
          live,
          SessionFailureCodes.processExited,
          `Claude Code exited unexpectedly${e.error ? `: ${e.error}` : ""}`,
        );
      }
      return;
  }
}

async function endTurn(ctx: SessionContext, live: LiveSession, e: Extract<RuntimeEvent, { type: "turn_result" }>) {
  const turn = live.turn;
  live.turn = null;
  if (!turn) return;
  const nowMono = ctx.clock.monotonic();
  const at = ctx.clock.now().toISOString();
  const usage = { ...e.usage, costUsd: e.costUsd };
  const failed = !e.ok || turn.apiError !== null;
  const error = !failed
    ? null
    : turn.interrupted
      ? { code: "INTERRUPTED", message: "The turn was interrupted." }
      : (turn.apiError ?? { code: e.subtype.toUpperCase(), message: e.errors.join("; ") || e.text || e.subtype });
  await ctx.transact(async (tx) => {
    await sessionStore.endTurn(tx.db, turn.id, {
      status: turn.interrupted ? "interrupted" : failed ? "failed" : "completed",
      endedAt: at,
      ttftMs: turn.firstTokenAt === null ? null : turn.firstTokenAt - turn.startedAt,
      durationMs: nowMono - turn.startedAt,
      apiDurationMs: e.durationApiMs,
      usage,
      modelUsage: e.modelUsage,
      error,
    });
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
  if (error && !turn.interrupted)
    await noteFailure(ctx, live, `turn:${error.code}`, `turns keep failing (${error.code})`);
  await runNext(ctx, live);
}
