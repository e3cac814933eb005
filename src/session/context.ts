// Shared state of the session domain: dependencies, live sessions, and the checked status transition.
import type { z } from "zod";
import { ApprovalResolved, approvalStore } from "../approval";
import type { Config } from "../config/schema";
import type { Clock } from "../core/clock";
import { type EventDef, event } from "../core/events";
import type { Logger } from "../core/log";
import type { PermissionDecision, PermissionMode, Runtime, RuntimeHandle } from "../runtime/types";
import type { Db } from "../store/db";
import { joined, type Transact, type Tx } from "../store/tx";
import { noDelta, type PendingDelta } from "./deltas";
import { SessionEnded, SessionStatusChanged } from "./events";
import { canTransition, isTerminal, type SessionStatus } from "./status";
import { type SessionRecord, sessionStore } from "./store";

export interface PendingDecision {
  approvalId: string;
  kind: "tool" | "question";
  toolUseId: string;
  toolName: string;
  input: Record<string, unknown>;
  /** Where the call runs, for the policy check of an input a person edits. */
  workDir: string;
  requestedAt: number;
  /** Timeout and long-wait timers; cleared when the approval settles. */
  timers: NodeJS.Timeout[];
  /** Set while a decision is being committed. */
  deciding?: boolean;
  resolve: (d: PermissionDecision) => void;
}

export interface ActiveTurn {
  id: string;
  startedAt: number;
  firstTokenAt: number | null;
  interrupted: boolean;
  /** Why an interrupt came from Aegis itself (the server stopping), when it did; else a person's. */
  interruptedBy?: { code: string; message: string } | undefined;
  apiError: { code: string; message: string } | null;
  /** Resolves once the turn's end is stored. */
  ended: Promise<void>;
  markEnded: () => void;
}

export interface LiveSession {
  id: string;
  /** The session's working directory: what relative policy paths are relative to, whatever the current `cd`. */
  workDir: string;
  /** Who owns the session, and how it runs; fixed for its life, so access checks need no read. */
  owner: { tenant: string; ownerKeyId: string | null; kind: SessionRecord["kind"] };
  handle: RuntimeHandle | null;
  /** Prompts waiting for the running turn; `traceparent` is the request that sent it (tracing on). */
  queue: Array<{ text: string; itemId: string; traceparent?: string | undefined }>;
  turn: ActiveTurn | null;
  approvals: Map<string, PendingDecision>;
  /** Tool calls under way; `deniedByPolicy` marks one the policy refused (its error result is not counted again). */
  tools: Map<string, { itemId: string; name: string; input: unknown; startedAt: number; deniedByPolicy?: boolean }>;
  closing: boolean;
  ready: boolean;
  breaker: { key: string | null; count: number; tripped: boolean };
  /** Credentials handed to the Claude Code process, scrubbed from anything it reports back. */
  secrets: string[];
  /** The model Claude Code last reported (init), so a repeat is not stored again. */
  model: string | null;
  /** Whether Claude Code has been given a prompt (its conversation exists; a restart resumes it). */
  conversationStarted: boolean;
  /** The permission mode the Claude Code process started in (it takes bypassPermissions only from the start). */
  startMode: PermissionMode | null;
  /** Text deltas not published yet (see deltas.ts). */
  delta: PendingDelta;
  /** The last permission-mode change; the next waits for it (see mode.ts). */
  modeChange: Promise<void>;
}

/** What the policy engine says about one tool call. */
export interface GateDecision {
  decision: "allow" | "deny" | "ask";
  reason: string;
  /** Deny the call when nobody decides within this many seconds. */
  approvalTimeoutSeconds?: number | undefined;
  /** Which layer and rule decided, for events and the audit trail. */
  rule?: { layer: string; index: number } | null | undefined;
}

/** The policy engine as the session domain sees it; app.ts wires the real one. */
export interface PolicyGate {
  decide(
    sessionId: string,
    call: { toolName: string; input: Record<string, unknown>; workDir: string },
  ): Promise<GateDecision>;
  /** Remembers an allow_always / reject_always decision as a session rule. */
  remember(
    sessionId: string,
    call: { toolName: string; input: Record<string, unknown> },
    decision: "allow" | "deny",
    by: string,
    /** Commit the rule with the decision's unit of work. */
    tx?: Tx,
  ): Promise<void>;
}

export interface SessionContext {
  db: Db;
  transact: Transact;
  /** Set on a context whose `transact` joins an open unit of work: the context to use once it is over. */
  outer?: SessionContext | undefined;
  clock: Clock;
  log: Logger;
  config: Config;
  runtime: Runtime;
  lives: Map<string, LiveSession>;
  /** Set once shutdown begins: no session starts after that (shared by every copy of the context). */
  lifecycle: { stopping: boolean };
  policy?: PolicyGate | undefined;
  /** The model path of a session's Claude Code (the model gateway's URL and token), if Aegis sits on it. */
  modelPath?: ((s: { id: string; tenant: string; ownerKeyId: string | null }) => Promise<ModelPath>) | undefined;
}

/** Environment a session's Claude Code gets on top of the server's, and variables it must not inherit. */
export interface ModelPath {
  env: Record<string, string>;
  unsetEnv: string[];
  /** Of `env`, what Claude Code's settings files must not override (see RuntimeStartOptions.pinnedEnv). */
  pinnedEnv: Record<string, string>;
}

/** The context whose units of work join `tx` (they commit with it); `outer` is for what runs later. */
export function within(ctx: SessionContext, tx: Tx): SessionContext {
  const outer = ctx.outer ?? ctx;
  return { ...outer, transact: joined(tx), outer };
}

export function newLive(s: Pick<SessionRecord, "id" | "tenant" | "ownerKeyId" | "kind" | "workDir">): LiveSession {
  return {
    id: s.id,
    workDir: s.workDir,
    owner: { tenant: s.tenant, ownerKeyId: s.ownerKeyId, kind: s.kind },
    handle: null,
    queue: [],
    turn: null,
    approvals: new Map(),
    tools: new Map(),
    closing: false,
    ready: false,
    breaker: { key: null, count: 0, tripped: false },
    secrets: [],
    model: null,
    conversationStarted: false,
    startMode: null,
    delta: noDelta(),
    modeChange: Promise.resolve(),
  };
}

/**
 * Moves a session to `to` if the transition is allowed, publishing the change (and the end, for
 * terminal states) in the same transaction. Returns false when the move is not allowed.
 */
export async function transition(
  tx: Tx,
  ctx: SessionContext,
  id: string,
  to: SessionStatus,
  opts: { reason?: string; error?: { code: string; message: string } | null } = {},
): Promise<boolean> {
  const from = await sessionStore.statusOf(tx.db, id);
  if (!from) return false;
  if (from === to) return true;
  if (!canTransition(from, to)) {
    ctx.log.debug({ sessionId: id, from, to }, "status transition refused");
    return false;
  }
  const at = ctx.clock.now().toISOString();
  await sessionStore.update(tx.db, id, { status: to, ...(opts.error !== undefined ? { error: opts.error } : {}) }, at);
  tx.emit(event(SessionStatusChanged, id, { from, to, ...(opts.reason ? { reason: opts.reason } : {}) }));
  if (isTerminal(to)) {
    tx.emit(event(SessionEnded, id, { status: to, reason: opts.reason ?? to, error: opts.error ?? null }));
  }
  return true;
}

/** Resolves every pending approval of a live session with one outcome (kill, escape, interrupt). */
export async function settleApprovals(
  tx: Tx,
  ctx: SessionContext,
  live: LiveSession,
  status: "cancelled" | "expired",
  message: string,
): Promise<PendingDecision[]> {
  const settled: PendingDecision[] = [];
  const now = ctx.clock.monotonic();
  const at = ctx.clock.now().toISOString();
  for (const p of live.approvals.values()) {
    const waitMs = now - p.requestedAt;
    // A decision that committed first keeps its outcome; this one then settles nothing.
    if (!(await approvalStore.resolve(tx.db, p.approvalId, status, message, at, waitMs, { decidedBy: "system" })))
      continue;
    settled.push(p);
    tx.emit(
      event(ApprovalResolved, live.id, {
        approvalId: p.approvalId,
        toolUseId: p.toolUseId,
        toolName: p.toolName,
        status,
        message,
        waitMs,
      }),
    );
  }
  // Only once they are stored as settled: a rollback leaves them pending, timers and all.
  tx.afterCommit(() => {
    for (const p of settled) {
      for (const t of p.timers) clearTimeout(t);
      if (live.approvals.get(p.approvalId) === p) live.approvals.delete(p.approvalId);
    }
  });
  return settled;
}

/** Stores and publishes one event that goes with no state change. */
export function publish<S extends z.ZodType>(
  ctx: SessionContext,
  sessionId: string,
  def: EventDef<string, S>,
  data: z.input<S>,
) {
  return ctx.transact(async (tx) => tx.emit(event(def, sessionId, data)));
}

/** Replaces every credential the session was given with a marker. */
export function scrub(live: LiveSession, text: string): string {
  let out = text;
  for (const secret of live.secrets) if (secret && out.includes(secret)) out = out.replaceAll(secret, "[redacted]");
  return out;
}
