// The session service: every session operation any transport (REST, MCP, CLI) may call.
import { approvalStore } from "../approval";
import type { AnswerInput, Approval, DecideInput, DecisionInput, ListApprovalsQuery } from "../approval/schema";
import {
  actorOf,
  type Caller,
  canActOnSession,
  canReadSession,
  type SessionOwnership,
  sessionListScope,
  type TenantPolicies,
} from "../auth";
import type { AuditEntry } from "../core/audit";
import { event } from "../core/events";
import type { HookInput } from "../hooks/schema";
import type { Tx } from "../store/tx";
import { answer, cancelPending, decide, pickPending } from "./approvals";
import { resetBreaker } from "./breaker";
import { type LiveSession, newLive, type SessionContext, settleApprovals, transition, within } from "./context";
import { flushDelta } from "./deltas";
import { fail, startRuntime } from "./driver";
import { SessionErrors } from "./errors";
import { SessionCreated } from "./events";
import { checkEnv, checkLimits, checkResume, checkWorkDir } from "./guard";
import { type HookResponse, onHook } from "./hooks";
import { changePermissionMode } from "./mode";
import type { Observer } from "./observed";
import { sendPrompt } from "./prompt";
import { newSessionRecord } from "./record";
import { recoverSessions, shutdownSessions } from "./restart";
import type { CreateSessionInput, ListSessionsQuery, Session, UpdateSessionInput } from "./schema";
import { isLive, LIVE_STATUSES } from "./status";
import { type SessionRecord, sessionStore } from "./store";
import { AbandonCodes, abandonUnfinished, dropUnsent, interruptTurn, storePrompt } from "./turn";
import { sessionView } from "./view";

type Access = "read" | "act";

export class SessionService {
  private readonly tenants: TenantPolicies;

  constructor(private readonly ctx: SessionContext) {
    this.tenants = (t) => ({ shareSessions: ctx.config.auth.tenants[t]?.shareSessions ?? false });
  }

  view(s: SessionRecord): Promise<Session> {
    return sessionView(this.ctx, s);
  }

  /**
   * The session `idOrName` names, if `caller` may `access` it. A session the caller may not read
   * is reported as missing, so ids and names do not leak across tenants.
   */
  async resolve(idOrName: string, caller: Caller, access: Access = "read"): Promise<SessionRecord> {
    const p = caller.principal;
    const s = idOrName.startsWith("ses_")
      ? await sessionStore.get(this.ctx.db, idOrName)
      : await sessionStore.getByName(this.ctx.db, idOrName, p.role === "admin" ? undefined : p.tenant);
    if (!s) throw SessionErrors.notFound({ details: { id: idOrName } });
    this.authorize(s.id, s, caller, access);
    return s;
  }

  private authorize(id: string, s: SessionOwnership, caller: Caller, access: Access): void {
    if (!canReadSession(caller.principal, s, this.tenants)) throw SessionErrors.notFound({ details: { id } });
    if (access === "act" && !canActOnSession(caller.principal, s, this.tenants))
      throw SessionErrors.forbidden({ details: { id } });
  }

  /** Tenant, owner and working directory of a session (for the policy layers of its calls). */
  async ownership(sessionId: string): Promise<Pick<SessionRecord, "tenant" | "ownerKeyId" | "workDir"> | undefined> {
    return sessionStore.get(this.ctx.db, sessionId);
  }

  /** Whether `caller` may read the session with this id (for filtering streams). */
  async canRead(sessionId: string, caller: Caller): Promise<boolean> {
    const s = await sessionStore.get(this.ctx.db, sessionId);
    return s !== undefined && canReadSession(caller.principal, s, this.tenants);
  }

  async get(idOrName: string, caller: Caller): Promise<Session> {
    return this.view(await this.resolve(idOrName, caller));
  }

  async list(q: ListSessionsQuery, caller: Caller): Promise<{ items: Session[]; nextCursor: string | null }> {
    const rows = await sessionStore.list(this.ctx.db, {
      ...sessionListScope(caller.principal, this.tenants),
      status: q.status,
      workDir: q.workDir,
      name: q.name,
      beforeId: q.cursor,
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    return {
      items: await Promise.all(page.map((s) => this.view(s))),
      nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }

  /** The caller's live sessions, newest first (the all-sessions stream's snapshot). */
  async listLive(caller: Caller, limit: number): Promise<Session[]> {
    const rows = await sessionStore.list(this.ctx.db, {
      ...sessionListScope(caller.principal, this.tenants),
      status: LIVE_STATUSES,
      limit,
    });
    return Promise.all(rows.map((s) => this.view(s)));
  }

  async create(input: CreateSessionInput, caller: Caller): Promise<{ session: Session; reused: boolean }> {
    if (this.ctx.lifecycle.stopping) throw SessionErrors.shuttingDown();
    const workDir = await checkWorkDir(input.workDir, this.ctx.config.security.allowedWorkDirs);
    checkEnv(input.env, this.ctx.config.security.envDenylist);
    const check = await this.ctx.runtime.check();
    if (!check.ok) throw SessionErrors.runtimeUnavailable({ details: { path: check.path, reason: check.error } });
    const p = caller.principal;

    // A bad parent is an error whether or not an idle session would be reused.
    if (input.parentId) await this.resolve(input.parentId, caller);
    if (input.resume) await checkResume(this.ctx, input.resume, (o) => canActOnSession(p, o, this.tenants));
    if (input.reuse !== false && !input.resume) {
      const reused = await this.findReusable(workDir, input.name, caller);
      if (reused) {
        if (input.prompt) await this.sendMessage(reused.id, input.prompt, caller);
        return { session: await this.get(reused.id, caller), reused: true };
      }
    }
    if (input.name) {
      const taken = await sessionStore.list(this.ctx.db, {
        name: input.name,
        tenant: p.tenant,
        status: LIVE_STATUSES,
        limit: 1,
      });
      if (taken.length > 0) throw SessionErrors.nameTaken({ details: { name: input.name } });
    }
    await checkLimits(this.ctx, caller.principal);

    const record = newSessionRecord(this.ctx, input, p, workDir);
    // Checked again after the awaits above, and in the same step as the session joins the live ones.
    if (this.ctx.lifecycle.stopping) throw SessionErrors.shuttingDown();
    const live = newLive(record);
    this.ctx.lives.set(record.id, live);
    try {
      await this.ctx.transact(async (tx) => {
        await sessionStore.insert(tx.db, record);
        tx.emit(
          event(SessionCreated, record.id, {
            name: record.name,
            workDir,
            claudeSessionId: record.claudeSessionId,
            resumed: input.resume !== undefined,
          }),
        );
        if (input.prompt) await storePrompt(tx, this.ctx, live, input.prompt, { traceparent: caller.traceparent });
        tx.audit(
          this.audit(caller, "session.create", record.id, {
            workDir,
            name: record.name,
            model: record.model,
            permissionMode: record.permissionMode,
            resume: input.resume ?? null,
            envNames: Object.keys(input.env ?? {}),
            promptChars: input.prompt?.length ?? 0,
          }),
        );
      });
    } catch (err) {
      this.ctx.lives.delete(record.id);
      // The live-name index (tenant, name): a concurrent create took the name first.
      if (/UNIQUE constraint failed: sessions\.(tenant, sessions\.)?name/.test(String(err)))
        throw SessionErrors.nameTaken({ details: { name: input.name } });
      throw err;
    }
    startRuntime(this.ctx, live, record, record.conversationStarted).catch((err: unknown) =>
      this.ctx.log.error({ err, sessionId: record.id }, "could not start the session"),
    );
    return { session: await this.get(record.id, caller), reused: false };
  }

  async sendMessage(idOrName: string, text: string, caller: Caller): Promise<{ queued: boolean; position: number }> {
    const live = await this.driven(idOrName, caller);
    return sendPrompt(this.ctx, live, text, caller, (queued) =>
      this.audit(caller, "session.message", live.id, { chars: text.length, queued }),
    );
  }

  async interrupt(idOrName: string, caller: Caller): Promise<Session> {
    const live = await this.driven(idOrName, caller);
    if (!live.turn) throw SessionErrors.notWorking();
    const turn = live.turn;
    // The turn's pending tool calls end with it, in the same unit as the audit record: a decision
    // that comes after the interrupt finds nothing to approve (it would never run).
    const settled = await this.ctx.transact(async (tx) => {
      tx.audit(this.audit(caller, "session.interrupt", live.id, { turnId: turn.id }));
      return cancelPending(tx, this.ctx, live, "the turn was interrupted");
    });
    for (const p of settled) p.resolve({ behavior: "deny", message: "The turn was interrupted.", interrupt: true });
    turn.interrupted = true;
    await interruptTurn(live);
    return this.get(live.id, caller);
  }

  /** Like Esc in Claude Code: stop the turn, refuse pending tool calls, drop queued prompts. */
  async escape(idOrName: string, caller: Caller): Promise<Session & { droppedMessages: number }> {
    const live = await this.live(idOrName, caller);
    let dropped: string[] = [];
    // Nothing is dropped or cancelled unless the audit record commits.
    const settled = await this.ctx.transact(async (tx) => {
      const at = this.ctx.clock.now().toISOString();
      dropped = await dropUnsent(tx, live.id, "dropped by escape", at);
      tx.audit(
        this.audit(caller, "session.escape", live.id, {
          droppedMessages: dropped.length,
          cancelledApprovals: live.approvals.size,
        }),
      );
      tx.afterCommit(() => {
        const gone = new Set(dropped);
        live.queue = live.queue.filter((q) => !gone.has(q.itemId));
      });
      return cancelPending(tx, this.ctx, live, "cancelled by escape");
    });
    await resetBreaker(this.ctx, live, caller.principal.keyId);
    for (const p of settled)
      p.resolve({
        behavior: "deny",
        message: "The user pressed escape; the tool call was cancelled.",
        interrupt: true,
      });
    if (live.turn) {
      live.turn.interrupted = true;
      await interruptTurn(live);
    }
    return { ...(await this.get(live.id, caller)), droppedMessages: dropped.length };
  }

  /** The per-session shortcut: approve or reject the oldest pending tool call, or `approvalId`. */
  async decide(idOrName: string, approve: boolean, input: DecisionInput, caller: Caller): Promise<Session> {
    const live = await this.live(idOrName, caller);
    if (input.approvalId) await this.unsettled(live.id, input.approvalId);
    const pending = pickPending(live, input.approvalId);
    await decide(
      this.ctx,
      live,
      pending,
      { decision: approve ? "allow_once" : "reject_once", message: input.message },
      caller,
    );
    return this.get(live.id, caller);
  }

  /** A full decision on one approval, addressed by its id. */
  async decideApproval(approvalId: string, d: DecideInput, caller: Caller): Promise<Approval> {
    const a = await this.approval(approvalId, caller);
    if (a.status !== "pending") throw SessionErrors.approvalSettled({ details: { approvalId, status: a.status } });
    const live = await this.live(a.sessionId, caller);
    await decide(this.ctx, live, pickPending(live, approvalId), d, caller);
    return this.approval(approvalId, caller);
  }

  async answer(idOrName: string, input: AnswerInput, caller: Caller): Promise<Session> {
    const live = await this.live(idOrName, caller);
    if (input.approvalId) await this.unsettled(live.id, input.approvalId);
    await answer(this.ctx, live, pickPending(live, input.approvalId, "question"), input.answers, caller);
    return this.get(live.id, caller);
  }

  /** An approval of this session that is already decided answers as it does by its own id (409). */
  private async unsettled(sessionId: string, approvalId: string): Promise<void> {
    const a = await approvalStore.get(this.ctx.db, approvalId);
    if (a?.sessionId === sessionId && a.status !== "pending")
      throw SessionErrors.approvalSettled({ details: { approvalId, status: a.status } });
  }

  /** One approval, if the caller may read its session. */
  async approval(approvalId: string, caller: Caller): Promise<Approval> {
    const a = await approvalStore.get(this.ctx.db, approvalId);
    if (!a || !(await this.canRead(a.sessionId, caller)))
      throw SessionErrors.approvalNotFound({ details: { approvalId } });
    return a;
  }

  async approvals(q: ListApprovalsQuery, caller: Caller): Promise<{ items: Approval[]; nextCursor: string | null }> {
    const one = q.sessionId ? (await this.resolve(q.sessionId, caller)).id : undefined;
    const rows = await approvalStore.list(this.ctx.db, {
      // One session (checked above), or all the caller may see, chosen by the query (never a list of
      // ids: a tenant may have more sessions than SQLite takes parameters).
      ...(one ? { sessionIds: [one] } : { sessionScope: sessionListScope(caller.principal, this.tenants) }),
      tool: q.tool,
      status: q.status,
      beforeId: q.cursor,
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    return { items: page, nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null };
  }

  async update(idOrName: string, input: UpdateSessionInput, caller: Caller): Promise<Session> {
    const live = await this.driven(idOrName, caller);
    if (input.permissionMode) await changePermissionMode(this.ctx, live, input.permissionMode, caller);
    return this.get(live.id, caller);
  }

  /** A Claude Code HTTP hook call for an observed session (see src/session/hooks.ts). */
  onHook(owner: Observer, input: HookInput, deadlineMs: number): Promise<HookResponse> {
    return onHook(this.ctx, owner, input, deadlineMs);
  }

  /** Ends the Claude Code process; the record and its history stay. */
  async kill(idOrName: string, caller: Caller, reason = "killed"): Promise<Session> {
    const s = await this.resolve(idOrName, caller, "act");
    const live = this.ctx.lives.get(s.id);
    if (!isLive(s.status)) return this.view(s);
    // The session stops only if its audit record commits (fail closed).
    const settled = await this.ctx.transact(async (tx) => {
      const out = live ? await settleApprovals(tx, this.ctx, live, "cancelled", "session killed") : [];
      // Text Claude Code already streamed goes out before the session ends.
      if (live) await flushDelta(within(this.ctx, tx), live);
      await abandonUnfinished(tx, s.id, this.ctx.clock.now().toISOString(), reason, AbandonCodes.killed);
      await dropUnsent(tx, s.id, `session ${reason}`, this.ctx.clock.now().toISOString());
      await transition(tx, this.ctx, s.id, "stopped", { reason });
      tx.audit(this.audit(caller, "session.kill", s.id, { reason }));
      tx.afterCommit(() => {
        if (!live) return;
        live.closing = true;
        live.queue.length = 0;
      });
      return out;
    });
    for (const p of settled) p.resolve({ behavior: "deny", message: "The session was stopped.", interrupt: true });
    this.ctx.lives.delete(s.id);
    await live?.handle?.close();
    return this.get(s.id, caller);
  }

  /** Restart survival: resume every session a previous server left live, or mark it failed. */
  recover(): Promise<number> {
    return recoverSessions(this.ctx);
  }

  /** Stops every Claude Code process but leaves sessions live in the store, so a restart resumes them. */
  shutdown(): Promise<void> {
    return shutdownSessions(this.ctx);
  }

  async failLive(id: string, code: string, message: string): Promise<void> {
    const live = this.ctx.lives.get(id);
    if (live) await fail(this.ctx, live, code, message);
  }

  /** The model gateway refused a request of this session for its budget; runs inside the gateway's unit of work. */
  async markBudgetExceeded(tx: Tx, id: string, reason: string): Promise<void> {
    await transition(tx, this.ctx, id, "budget_exceeded", { reason });
  }

  /** A live session Aegis drives itself (not an observed one). */
  private async driven(idOrName: string, caller: Caller): Promise<LiveSession> {
    return this.live(idOrName, caller, true);
  }

  private async live(idOrName: string, caller: Caller, driven = false): Promise<LiveSession> {
    // A live session that is not closing has a live status (every end sets `closing` before or as it
    // commits), and its ownership is in memory: a prompt's path reads nothing before its unit of work.
    const known = this.ctx.lives.get(idOrName);
    if (known && !known.closing) {
      this.authorize(known.id, known.owner, caller, "act");
      if (driven && known.owner.kind === "observed") throw SessionErrors.observed({ details: { id: known.id } });
      return known;
    }
    const s = await this.resolve(idOrName, caller, "act");
    if (driven && s.kind === "observed") throw SessionErrors.observed({ details: { id: s.id } });
    const live = this.ctx.lives.get(s.id);
    if (!isLive(s.status) || !live || live.closing) {
      throw SessionErrors.notLive({ details: { id: s.id, status: s.status } });
    }
    return live;
  }

  private audit(caller: Caller, action: string, sessionId: string, params: Record<string, unknown>): AuditEntry {
    return { actor: actorOf(caller), action, target: { type: "session", id: sessionId }, params, outcome: "ok" };
  }

  private async findReusable(
    workDir: string,
    name: string | undefined,
    caller: Caller,
  ): Promise<SessionRecord | undefined> {
    const idle = await sessionStore.list(this.ctx.db, { status: "idle", workDir, tenant: caller.principal.tenant });
    return idle.find(
      (s) =>
        this.ctx.lives.get(s.id)?.ready &&
        (name === undefined || s.name === name) &&
        canActOnSession(caller.principal, s, this.tenants),
    );
  }
}
