// Observed sessions: Claude Code sessions Aegis did not start, seen through their HTTP hooks.
// Their prompts, tool calls, results and stops become the same records and events as a managed
// session's; their permission requests go through the same policy and approvals.
import { randomUUID } from "node:crypto";
import { event } from "../core/events";
import { newId } from "../core/ids";
import { truncateText } from "../core/truncate";
import type { PermissionDecision } from "../runtime/types";
import { requestPermission } from "./approvals";
import { type LiveSession, newLive, type SessionContext, settleApprovals, transition } from "./context";
import { handleEvent } from "./driver";
import { MessageSubmitted, SessionCreated } from "./events";
import { isLive } from "./status";
import { type SessionRecord, sessionStore } from "./store";
import { beginTurn } from "./turn";

export interface Observer {
  keyId: string;
  tenant: string;
}

/** The live observed session for a Claude Code session id, registered on first sight. */
export async function observedSession(
  ctx: SessionContext,
  owner: Observer,
  claudeSessionId: string,
  cwd: string,
): Promise<LiveSession> {
  let record = await sessionStore.byClaudeSession(ctx.db, claudeSessionId, "observed");
  if (!record || !isLive(record.status)) record = await register(ctx, owner, claudeSessionId, cwd);
  let live = ctx.lives.get(record.id);
  if (!live) {
    live = newLive(record.id);
    live.ready = true;
    ctx.lives.set(record.id, live);
  }
  return live;
}

async function register(
  ctx: SessionContext,
  owner: Observer,
  claudeSessionId: string,
  cwd: string,
): Promise<SessionRecord> {
  const now = ctx.clock.now().toISOString();
  const record: SessionRecord = {
    id: newId("ses"),
    tenant: owner.tenant,
    ownerKeyId: owner.keyId,
    kind: "observed",
    attention: null,
    name: null,
    status: "starting",
    workDir: cwd,
    parentId: null,
    claudeSessionId,
    conversationStarted: true,
    model: null,
    permissionMode: "default",
    options: {},
    totals: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 },
    error: null,
    createdAt: now,
    updatedAt: now,
    lastActivityAt: now,
  };
  await ctx.transact(async (tx) => {
    await sessionStore.insert(tx.db, record);
    tx.emit(event(SessionCreated, record.id, { name: null, workDir: cwd, claudeSessionId, resumed: false }));
    await transition(tx, ctx, record.id, "idle", { reason: "observed through hooks" });
    tx.audit({
      actor: { keyId: owner.keyId, role: null, tenant: owner.tenant, ip: null },
      action: "session.observe",
      target: { type: "session", id: record.id },
      params: { claudeSessionId, workDir: cwd },
      outcome: "ok",
    });
  });
  return { ...record, status: "idle" };
}

async function ensureTurn(ctx: SessionContext, live: LiveSession) {
  if (!live.turn) await beginTurn(ctx, live, null);
}

export async function observedPrompt(ctx: SessionContext, live: LiveSession, text: string): Promise<void> {
  const itemId = newId("tri");
  await ctx.transact(async (tx) => {
    const at = ctx.clock.now().toISOString();
    const stored = truncateText(text, ctx.config.transcript.maxItemChars).text;
    await sessionStore.addItem(tx.db, live.id, {
      id: itemId,
      kind: "user",
      createdAt: at,
      updatedAt: at,
      data: { text: stored },
    });
    const short = truncateText(text, ctx.config.events.maxPayloadChars).text;
    tx.emit(event(MessageSubmitted, live.id, { itemId, text: short, queued: false }));
  });
  if (live.turn) await finishTurn(ctx, live, true, "");
  await beginTurn(ctx, live, itemId);
}

export async function observedToolCall(
  ctx: SessionContext,
  live: LiveSession,
  call: { toolUseId: string; toolName: string; input: Record<string, unknown> },
) {
  await ensureTurn(ctx, live);
  await handleEvent(ctx, live, { type: "tool_use", toolUseId: call.toolUseId, name: call.toolName, input: call.input });
}

export async function observedToolResult(
  ctx: SessionContext,
  live: LiveSession,
  r: { toolUseId: string; output: string; isError: boolean },
) {
  await handleEvent(ctx, live, { type: "tool_result", ...r });
}

/** Asks policy (and, for "ask", a person) about a call an observed session wants to make. */
export async function observedPermission(
  ctx: SessionContext,
  live: LiveSession,
  workDir: string,
  call: { toolUseId: string; toolName: string; input: Record<string, unknown> },
  signal: AbortSignal,
): Promise<PermissionDecision> {
  await ensureTurn(ctx, live);
  return requestPermission(ctx, live, workDir, { ...call, toolUseId: call.toolUseId || randomUUID(), signal });
}

export async function finishTurn(ctx: SessionContext, live: LiveSession, ok: boolean, text: string, error?: string) {
  if (!live.turn) await beginTurn(ctx, live, null);
  if (text) await handleEvent(ctx, live, { type: "assistant_text", messageId: "", text });
  await handleEvent(ctx, live, {
    type: "turn_result",
    ok,
    subtype: ok ? "success" : "hook_stop_failure",
    text,
    errors: error ? [error] : [],
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
    costUsd: 0,
    modelUsage: {},
    usageByModel: {},
    durationMs: 0,
    durationApiMs: 0,
    apiErrorStatus: null,
  });
}

export async function observedEnd(ctx: SessionContext, live: LiveSession, reason: string) {
  live.closing = true;
  await ctx.transact(async (tx) => {
    await settleApprovals(tx, ctx, live, "cancelled", "the Claude Code session ended");
    await sessionStore.abandonTurns(tx.db, live.id, ctx.clock.now().toISOString(), reason);
    await transition(tx, ctx, live.id, "stopped", { reason: `ended: ${reason}` });
  });
  ctx.lives.delete(live.id);
}
