// Drives one live session: starts Claude Code, runs turns from the queue, and turns runtime
// events into stored state, transcript items and published events.
import { event } from "../core/events";
import { newId } from "../core/ids";
import { truncateDeep, truncateText } from "../core/truncate";
import type { RuntimeEvent, RuntimeHandle, ToolCall } from "../runtime/types";
import { denyByPolicy, requestPermission } from "./approvals";
import { callKey, noteFailure, noteSuccess } from "./breaker";
import { type LiveSession, publish, type SessionContext, scrub, settleApprovals, transition, within } from "./context";
import { addDelta, flushDelta, newMessage } from "./deltas";
import { SessionFailureCodes } from "./errors";
import { MessageCompleted, ModelResponded, ToolCalled, ToolCompleted, TurnRetried } from "./events";
import { type SessionRecord, sessionStore } from "./store";
import { abandonUnfinished, dropUnsent, endTurn, runNext } from "./turn";

const AUTH_HINT =
  "Claude Code has no valid credentials. Set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the server's environment " +
  "or under runtime.env in the Aegis config, or log in with `claude login` as the user running Aegis, then create a new session.";

export async function startRuntime(ctx: SessionContext, live: LiveSession, s: SessionRecord, resume: boolean) {
  const path = await ctx.modelPath?.(s);
  // A create that raced the start of shutdown: its session stays resumable, with no process to stop.
  if (live.closing || ctx.lifecycle.stopping) return;
  live.conversationStarted = s.conversationStarted;
  live.startMode = s.permissionMode;
  // The session's gateway token is its own, but it must not reach transcripts or events.
  live.secrets = [path?.env.ANTHROPIC_API_KEY, path?.env.ANTHROPIC_AUTH_TOKEN].filter((v): v is string => !!v);
  let handle: RuntimeHandle;
  try {
    handle = ctx.runtime.start({
      claudeSessionId: s.claudeSessionId,
      resume,
      workDir: s.workDir,
      model: s.model ?? ctx.config.sessions.defaultModel,
      permissionMode: s.permissionMode,
      ...s.options,
      ...(path ? { env: { ...s.options.env, ...path.env }, unsetEnv: path.unsetEnv, pinnedEnv: path.pinnedEnv } : {}),
      onPermission: (req) => requestPermission(ctx, live, s.workDir, req),
      ...(ctx.policy ? { onPreToolUse: (call: ToolCall) => denyByPolicy(ctx, live, s.workDir, call) } : {}),
    });
  } catch (err) {
    // The process could not even be spawned (e.g. an argument the OS refuses): the session fails,
    // the server does not.
    const code = resume ? SessionFailureCodes.resumeFailed : SessionFailureCodes.startFailed;
    await fail(ctx, live, code, `Claude Code could not start: ${(err as Error).message}`);
    return;
  }
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

export async function fail(ctx: SessionContext, live: LiveSession, code: string, message: string): Promise<void> {
  if (live.closing) return;
  live.closing = true;
  ctx.log.warn({ sessionId: live.id, code }, message);
  await ctx.transact(async (tx) => {
    await flushDelta(within(ctx, tx), live);
    await settleApprovals(tx, ctx, live, "cancelled", `session failed: ${code}`);
    await abandonUnfinished(tx, live.id, ctx.clock.now().toISOString(), message, code);
    await dropUnsent(tx, live.id, `session failed: ${code}`, ctx.clock.now().toISOString());
    await transition(tx, ctx, live.id, "failed", { reason: code, error: { code, message } });
  });
  live.queue.length = 0;
  ctx.lives.delete(live.id);
  await live.handle?.close();
}

/** Events whose handling only writes to the database: those that piled up share one unit of work. */
const SHAREABLE = new Set<RuntimeEvent["type"]>([
  "init",
  "message_started",
  "message_finished",
  "text_delta",
  "assistant_text",
  "tool_use",
  "api_retry",
]);
const shareable = (e: RuntimeEvent): e is RuntimeEvent => SHAREABLE.has(e.type);

/** Adjacent text deltas become one. */
function mergeDeltas(events: RuntimeEvent[]): RuntimeEvent[] {
  const out: RuntimeEvent[] = [];
  for (const e of events) {
    const last = out.at(-1);
    if (e.type === "text_delta" && last?.type === "text_delta")
      out[out.length - 1] = { ...last, text: last.text + e.text };
    else out.push(e);
  }
  return out;
}

async function consume(ctx: SessionContext, live: LiveSession): Promise<void> {
  const handle = live.handle;
  if (!handle) return;
  for await (const raw of handle.events) {
    // What arrived while the last unit of work was being stored is stored together: fewer commits.
    const batch = mergeDeltas(shareable(raw) ? [raw, ...(handle.events.takeWhile?.(shareable) ?? [])] : [raw]).map(
      (e) => (live.secrets.length > 0 ? scrubEvent(live, e) : e),
    );
    // Pending text is published ahead of the next event; when that event only writes to the
    // database, the two share a unit of work too.
    const only = batch.length === 1 ? (batch[0] as RuntimeEvent) : undefined;
    const flushFirst = only !== undefined && only.type !== "text_delta" && shareable(only) && live.delta.text !== "";
    try {
      if (only && !flushFirst) await handleEvent(ctx, live, only);
      else
        await ctx.transact(async (tx) => {
          const inner = within(ctx, tx);
          for (const e of batch) await handleEvent(inner, live, e);
        });
    } catch (err) {
      ctx.log.error({ err, sessionId: live.id, events: batch.map((e) => e.type) }, "failed to record runtime events");
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
  if (e.type !== "text_delta" && live.delta.text) await flushDelta(ctx, live);
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
      newMessage(live);
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
      await addDelta(ctx, live, turn.id, e.text);
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
        // A call completes once: one already closed (cancelled by a restart, while an observed
        // session's Claude Code ran on) keeps its first outcome.
        if (item?.data.status !== "running") return;
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
      // A call the policy denied was counted by the deny; its error result is the same failure.
      if (e.isError && !started.deniedByPolicy)
        await noteFailure(ctx, live, callKey(started.name, started.input), `${started.name} kept failing`);
      else if (!e.isError) noteSuccess(live);
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
