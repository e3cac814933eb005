// Observed sessions: Claude Code sessions Aegis did not start, seen through their HTTP hooks.
// Their prompts, tool calls, results and stops become the same records and events as a managed
// session's; their permission requests go through the same policy and approvals.
import { randomUUID } from "node:crypto";
import { event } from "../core/events";
import { newId } from "../core/ids";
import { HookErrors } from "../hooks";
import type { PermissionDecision } from "../runtime/types";
import { requestPermission } from "./approvals";
import {
  type LiveSession,
  newLive,
  type PendingDecision,
  type SessionContext,
  settleApprovals,
  transition,
} from "./context";
import { handleEvent } from "./driver";
import { SessionErrors } from "./errors";
import { SessionCreated } from "./events";
import { checkLimits } from "./guard";
import { isLive } from "./status";
import { type SessionRecord, sessionStore } from "./store";
import { AbandonCodes, abandonUnfinished, beginTurn, storePrompt } from "./turn";

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
  if (ctx.lifecycle.stopping) throw SessionErrors.shuttingDown();
  let record = await sessionStore.byClaudeSession(ctx.db, claudeSessionId, "observed");
  if (!record || !isLive(record.status)) record = await register(ctx, owner, claudeSessionId, cwd);
  // Claude Code picks session ids; an installation writes only into a session its owner may act on:
  // never another tenant's, and another owner's only in a tenant that shares sessions.
  const shared = ctx.config.auth.tenants[record.tenant]?.shareSessions ?? false;
  if (record.tenant !== owner.tenant || (record.ownerKeyId !== owner.keyId && !shared))
    throw HookErrors.sessionForeign({ details: { claudeSessionId } });
  let live = ctx.lives.get(record.id);
  if (!live) {
    if (ctx.lifecycle.stopping) throw SessionErrors.shuttingDown();
    live = newLive(record);
    live.ready = true;
    // Claude Code started this conversation itself.
    live.conversationStarted = true;
    ctx.lives.set(record.id, live);
  }
  return live;
}

/** A new observed session, within the same live-session limits as a managed one (TOO_MANY_SESSIONS). */
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
  return ctx.transact(async (tx) => {
    // Checked in the unit of work, so concurrent first hooks neither register twice nor pass the limit together.
    const seen = await sessionStore.byClaudeSession(tx.db, claudeSessionId, "observed");
    if (seen && isLive(seen.status)) return seen;
    await checkLimits({ ...ctx, db: tx.db }, owner);
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
    return { ...record, status: "idle" as const };
  });
}

async function ensureTurn(ctx: SessionContext, live: LiveSession) {
  if (!live.turn) await beginTurn(ctx, live, null);
}

export async function observedPrompt(ctx: SessionContext, live: LiveSession, text: string): Promise<void> {
  // Claude Code already has the prompt: stored, never queued.
  const itemId = await ctx.transact((tx) => storePrompt(tx, ctx, live, text, { queued: false, toQueue: false }));
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
  const settled = await ctx.transact(async (tx) => {
    const settled = await settleApprovals(tx, ctx, live, "cancelled", "the Claude Code session ended");
    await abandonUnfinished(tx, live.id, ctx.clock.now().toISOString(), reason, AbandonCodes.sessionEnded);
    await transition(tx, ctx, live.id, "stopped", { reason: `ended: ${reason}` });
    return settled;
  });
  releaseHeld(settled);
  ctx.lives.delete(live.id);
}

/**
 * Answers the PermissionRequest hooks held for these approvals with no decision (the session is
 * closing, so the hook answers `{}` and Claude Code's own permission flow decides). Settling the
 * approvals is the caller's business: on shutdown they stay pending and the next start expires them.
 */
export function releaseHeld(held: Iterable<PendingDecision>) {
  for (const p of held) {
    for (const t of p.timers) clearTimeout(t);
    p.resolve({ behavior: "deny", message: "Aegis stopped waiting for a decision." });
  }
}
