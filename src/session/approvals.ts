// Tool-call permission for live sessions: ask the policy, hold a durable approval for a person,
// time it out, and apply decisions (including AskUserQuestion answers).
import { ApprovalRequested, ApprovalResolved, ApprovalWaiting, approvalStore, QuestionAsked } from "../approval";
import type { Decision } from "../approval/schema";
import { actorOf, type Caller } from "../auth";
import { event } from "../core/events";
import { newId } from "../core/ids";
import { truncateDeep } from "../core/truncate";
import type { PermissionDecision, PermissionRequest, ToolCall } from "../runtime/types";
import type { Tx } from "../store/tx";
import { callKey, noteFailure, resetBreaker } from "./breaker";
import {
  type GateDecision,
  type LiveSession,
  type PendingDecision,
  type SessionContext,
  settleApprovals,
  transition,
} from "./context";
import { SessionErrors } from "./errors";
import { PolicyDecided } from "./events";
import { sessionStore } from "./store";

const QUESTION_TOOL = "AskUserQuestion";

/** Called by Claude Code (through the runtime) for every tool call its permission mode would prompt for. */
export async function requestPermission(
  ctx: SessionContext,
  live: LiveSession,
  workDir: string,
  req: PermissionRequest,
): Promise<PermissionDecision> {
  const isQuestion = req.toolName === QUESTION_TOOL;
  const gate =
    isQuestion || !ctx.policy
      ? undefined
      : await ctx.policy.decide(live.id, { toolName: req.toolName, input: req.input, workDir });
  if (gate && gate.decision !== "ask") return applyVerdict(ctx, live, req, { ...gate, decision: gate.decision });
  const timeoutSeconds = gate?.approvalTimeoutSeconds ?? ctx.config.approvals.timeoutSeconds;
  return hold(ctx, live, req, workDir, isQuestion ? "question" : "tool", timeoutSeconds || undefined, gate?.reason);
}

/**
 * Claude Code puts every tool call to a PreToolUse hook first, whatever its permission mode or
 * allowedTools say: a policy deny stops the call there (recorded as any policy deny is). Anything
 * else goes on to Claude Code's own permission flow, and to requestPermission when it asks.
 */
export async function denyByPolicy(
  ctx: SessionContext,
  live: LiveSession,
  workDir: string,
  call: ToolCall,
): Promise<{ deny: string } | null> {
  if (!ctx.policy || call.toolName === QUESTION_TOOL) return null;
  const gate = await ctx.policy.decide(live.id, { toolName: call.toolName, input: call.input, workDir });
  if (gate.decision !== "deny") return null;
  const d = await applyVerdict(ctx, live, call, { ...gate, decision: "deny" });
  return { deny: d.behavior === "deny" ? d.message : gate.reason };
}

/** Records an automatic allow or deny (event, audit record, breaker) and answers with it. */
export async function applyVerdict(
  ctx: SessionContext,
  live: LiveSession,
  req: Pick<PermissionRequest, "toolUseId" | "toolName" | "input">,
  gate: GateDecision & { decision: "allow" | "deny" },
): Promise<PermissionDecision> {
  const verdict = gate.decision;
  await ctx.transact(async (tx) => {
    const data = {
      toolUseId: req.toolUseId,
      toolName: req.toolName,
      decision: verdict,
      reason: gate.reason,
      rule: gate.rule ?? null,
    };
    tx.emit(event(PolicyDecided, live.id, data));
    tx.audit({
      actor: { keyId: "policy", role: null, tenant: null, ip: null },
      action: verdict === "allow" ? "policy.allow" : "policy.deny",
      target: { type: "session", id: live.id },
      params: { ...data, input: truncateDeep(req.input, 2000) },
      outcome: "ok",
    });
  });
  if (verdict === "allow") return { behavior: "allow" };
  const call = live.tools.get(req.toolUseId);
  if (call) call.deniedByPolicy = true;
  await noteFailure(ctx, live, callKey(req.toolName, req.input), `${req.toolName} denied by policy`);
  return { behavior: "deny", message: `Denied by policy: ${gate.reason}` };
}

async function hold(
  ctx: SessionContext,
  live: LiveSession,
  req: PermissionRequest,
  workDir: string,
  kind: "tool" | "question",
  timeoutSeconds: number | undefined,
  reason: string | undefined,
): Promise<PermissionDecision> {
  const approvalId = newId("apr");
  const now = ctx.clock.now();
  const timeoutAt = timeoutSeconds ? new Date(now.getTime() + timeoutSeconds * 1000).toISOString() : null;
  const pending: PendingDecision = {
    approvalId,
    kind,
    toolUseId: req.toolUseId,
    toolName: req.toolName,
    input: req.input,
    workDir,
    requestedAt: ctx.clock.monotonic(),
    timers: [],
    resolve: () => {},
  };
  const decision = new Promise<PermissionDecision>((resolve) => {
    pending.resolve = resolve;
  });
  live.approvals.set(approvalId, pending);
  await ctx.transact(async (tx) => {
    await approvalStore.insert(tx.db, {
      id: approvalId,
      sessionId: live.id as `ses_${string}`,
      kind,
      toolUseId: req.toolUseId,
      toolName: req.toolName,
      input: truncateDeep(req.input, ctx.config.transcript.maxItemChars) as Record<string, unknown>,
      status: "pending",
      decision: null,
      decidedBy: null,
      message: reason ?? null,
      requestedAt: now.toISOString(),
      timeoutAt,
      resolvedAt: null,
      waitMs: null,
    });
    const input = truncateDeep(req.input, ctx.config.events.maxPayloadChars);
    tx.emit(event(ApprovalRequested, live.id, { approvalId, toolUseId: req.toolUseId, toolName: req.toolName, input }));
    if (kind === "question") tx.emit(event(QuestionAsked, live.id, { approvalId, questions: req.input.questions }));
    await transition(tx, ctx, live.id, "awaiting_approval", { reason: `approval needed for ${req.toolName}` });
  });

  const warnAfter = ctx.config.approvals.waitWarningSeconds;
  if (warnAfter > 0) {
    pending.timers.push(
      setTimeout(() => {
        void ctx.transact(async (tx) =>
          tx.emit(event(ApprovalWaiting, live.id, { approvalId, toolName: req.toolName, waitedSeconds: warnAfter })),
        );
      }, warnAfter * 1000).unref(),
    );
  }
  if (timeoutSeconds) {
    pending.timers.push(
      setTimeout(() => {
        void expire(ctx, live, pending, timeoutSeconds).catch((err) =>
          ctx.log.error({ err }, "approval timeout failed"),
        );
      }, timeoutSeconds * 1000).unref(),
    );
  }
  // Claude Code aborts the request when the turn is interrupted; the approval is then moot.
  req.signal.addEventListener(
    "abort",
    () => {
      // A closing session (kill, shutdown) settles or keeps its approvals itself.
      if (!live.approvals.has(approvalId) || live.closing) return;
      // A held hook (observed session) runs out of time with a TimeoutError; a managed turn is interrupted.
      const heldTooLong = (req.signal.reason as Error | undefined)?.name === "TimeoutError";
      const why = heldTooLong
        ? "no decision before the hook's timeout; Claude Code's own permission prompt decides"
        : "the turn was interrupted";
      void settleOne(ctx, live, pending, "cancelled", why).then((won) => {
        if (won) pending.resolve({ behavior: "deny", message: "The turn was interrupted.", interrupt: true });
      });
    },
    { once: true },
  );
  return decision;
}

async function settleOne(
  ctx: SessionContext,
  live: LiveSession,
  p: PendingDecision,
  status: "cancelled" | "expired",
  message: string,
): Promise<boolean> {
  if (!live.approvals.has(p.approvalId)) return false;
  const won = await ctx.transact(async (tx) => {
    const settled = await settleApprovals(
      tx,
      ctx,
      { ...live, approvals: new Map([[p.approvalId, p]]) },
      status,
      message,
    );
    // A decision committed first: it stands (and answers Claude Code), and this settles nothing.
    if (settled.length === 0) return false;
    // Nobody decided in time, so Aegis denied the call: an automatic decision, recorded as one.
    if (status === "expired")
      await recordExpiry(tx, live.id, p, message, ctx.clock.now().toISOString(), ctx.clock.monotonic() - p.requestedAt);
    await afterDecision(tx, ctx, live, p);
    return true;
  });
  if (won) live.approvals.delete(p.approvalId);
  return won;
}

/** An approval that expired (no decision in time, or a restart): its transcript item and audit record. */
export async function recordExpiry(
  tx: Tx,
  sessionId: string,
  p: { approvalId: string; toolUseId: string; toolName: string },
  message: string,
  at: string,
  waitMs: number,
): Promise<void> {
  const data = { approvalId: p.approvalId, toolUseId: p.toolUseId, toolName: p.toolName, decision: "expired", message };
  await sessionStore.addItem(tx.db, sessionId, {
    id: newId("tri"),
    kind: "approval",
    createdAt: at,
    updatedAt: at,
    data,
  });
  tx.audit({
    actor: { keyId: "system", role: null, tenant: null, ip: null },
    action: "approval.expire",
    target: { type: "session", id: sessionId },
    params: { ...data, waitMs },
    outcome: "ok",
  });
}

async function expire(ctx: SessionContext, live: LiveSession, p: PendingDecision, seconds: number) {
  const message = `No decision within ${seconds} s; the ${p.toolName} call was denied.`;
  if (await settleOne(ctx, live, p, "expired", message)) p.resolve({ behavior: "deny", message });
}

/** Back to working once no approval is left (the settled one is still in the map here). */
async function afterDecision(tx: Tx, ctx: SessionContext, live: LiveSession, p: PendingDecision) {
  const others = [...live.approvals.keys()].filter((id) => id !== p.approvalId);
  if (others.length === 0)
    await transition(tx, ctx, live.id, "working", { reason: `approval ${p.approvalId} settled` });
}

export function pickPending(
  live: LiveSession,
  approvalId: string | undefined,
  kind?: "tool" | "question",
): PendingDecision {
  const candidates = [...live.approvals.values()]
    .filter((p) => !p.deciding && (kind === undefined || p.kind === kind))
    .sort((a, b) => a.requestedAt - b.requestedAt);
  const pending = approvalId ? candidates.find((p) => p.approvalId === approvalId) : candidates[0];
  if (!pending) {
    throw approvalId
      ? SessionErrors.approvalNotFound({ details: { approvalId } })
      : kind === "question"
        ? SessionErrors.noPendingQuestion()
        : SessionErrors.noPendingApproval();
  }
  return pending;
}

export interface DecisionRequest {
  decision: Decision;
  message?: string | undefined;
  updatedInput?: Record<string, unknown> | undefined;
}

const EDIT_DENIED = "The edited input is denied by policy, so it cannot be approved:";

/** Applies a person's decision to one pending tool call (or question). */
export async function decide(
  ctx: SessionContext,
  live: LiveSession,
  pending: PendingDecision,
  d: DecisionRequest,
  caller: Caller,
) {
  const allow = d.decision.startsWith("allow");
  // A person approves the call they were shown; an input they edit is a new call, and no layer's
  // deny gives way to an approval (an approver cannot swap in a command the policy refuses).
  if (allow && d.updatedInput && ctx.policy && pending.kind === "tool") {
    const call = { toolName: pending.toolName, input: d.updatedInput, workDir: pending.workDir };
    const gate = await ctx.policy.decide(live.id, call);
    if (gate.decision === "deny") throw SessionErrors.editDenied({ message: `${EDIT_DENIED} ${gate.reason}` });
  }
  const status = allow ? "approved" : "rejected";
  const message = d.message ?? null;
  const waitMs = ctx.clock.monotonic() - pending.requestedAt;
  // Claimed until the decision commits, so a concurrent decision on the same call is refused.
  pending.deciding = true;
  try {
    await ctx.transact(async (tx) => {
      // The remembered rule commits with the audited decision, or neither does.
      if (d.decision.endsWith("always") && ctx.policy) {
        const call = { toolName: pending.toolName, input: pending.input };
        await ctx.policy.remember(live.id, call, allow ? "allow" : "deny", caller.principal.keyId, tx);
      }
      const at = ctx.clock.now().toISOString();
      const by = { decision: d.decision, decidedBy: caller.principal.keyId };
      // A kill, escape or expiry that committed first has settled it: this decision is too late.
      if (!(await approvalStore.resolve(tx.db, pending.approvalId, status, message, at, waitMs, by)))
        throw SessionErrors.approvalSettled({ details: { approvalId: pending.approvalId } });
      const data = {
        approvalId: pending.approvalId,
        toolUseId: pending.toolUseId,
        toolName: pending.toolName,
        decision: d.decision,
        message,
        waitMs,
      };
      await sessionStore.addItem(tx.db, live.id, {
        id: newId("tri"),
        kind: "approval",
        createdAt: at,
        updatedAt: at,
        data,
      });
      tx.emit(event(ApprovalResolved, live.id, { ...data, status, decidedBy: caller.principal.keyId }));
      tx.audit({
        actor: actorOf(caller),
        action: allow ? "session.approve" : "session.reject",
        target: { type: "session", id: live.id },
        params: { ...data, updatedInput: d.updatedInput !== undefined },
        outcome: "ok",
      });
      await afterDecision(tx, ctx, live, pending);
    });
  } catch (err) {
    pending.deciding = false;
    throw err;
  }
  for (const t of pending.timers) clearTimeout(t);
  live.approvals.delete(pending.approvalId);
  await resetBreaker(ctx, live, caller.principal.keyId);
  pending.resolve(
    allow
      ? { behavior: "allow", updatedInput: d.updatedInput }
      : { behavior: "deny", message: message ?? `The user rejected this ${pending.toolName} call.` },
  );
}

/** Answers an AskUserQuestion: the tool runs with the answers filled in. */
export async function answer(
  ctx: SessionContext,
  live: LiveSession,
  pending: PendingDecision,
  answers: Record<string, string>,
  caller: Caller,
) {
  await decide(ctx, live, pending, { decision: "allow_once", updatedInput: { ...pending.input, answers } }, caller);
}

/** Cancels the session's pending approvals (interrupt, escape); a session that waited on them is working again. */
export async function cancelPending(tx: Tx, ctx: SessionContext, live: LiveSession, why: string) {
  const settled = await settleApprovals(tx, ctx, live, "cancelled", why);
  if (settled.length > 0 && live.turn) await transition(tx, ctx, live.id, "working", { reason: why });
  return settled;
}
