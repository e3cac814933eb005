// Turn, tool-call and model-request spans, derived from bus events in one place.
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { z } from "zod";
import { ApprovalRequested, ApprovalResolved } from "../approval";
import type { EventBus, EventDef, StoredEvent } from "../core/events";
import type { Logger } from "../core/log";
import {
  ModelResponded,
  PolicyDecided,
  SessionEnded,
  ToolCalled,
  ToolCompleted,
  TurnFailed,
  TurnRetried,
  TurnStarted,
  UsageRecorded,
} from "../session";
import { AegisAttr, AGENT_NAME, ERROR_TYPE, GenAi, PROVIDER } from "./attributes";
import { parseTraceparent } from "./traceparent";

type DataOf<D> = D extends EventDef<string, infer S> ? z.output<S> : never;

function is<D extends EventDef>(def: D, e: StoredEvent): e is StoredEvent & { data: DataOf<D> } {
  return e.type === def.type;
}

interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** gen_ai.usage.input_tokens counts every input token; Anthropic's input_tokens leaves the cache out. */
function usageAttributes(u: Usage): Attributes {
  return {
    [GenAi.inputTokens]: u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens,
    [GenAi.outputTokens]: u.outputTokens,
    [GenAi.cacheReadTokens]: u.cacheReadTokens,
    [GenAi.cacheWriteTokens]: u.cacheWriteTokens,
    [AegisAttr.uncachedInputTokens]: u.inputTokens,
  };
}

interface ToolCall {
  toolUseId: string;
  name: string;
  startedAt: number;
  events: Array<{ name: string; time: number; attributes: Attributes }>;
  decision?: string;
  decidedBy?: string | null;
  approvalId?: string;
  waitMs?: number;
  /** The model response that asked for this call has ended. */
  answered: boolean;
  completedAt?: number;
  done: boolean;
}

interface OpenTurn {
  sessionId: string;
  id: string;
  span: Span;
  ctx: Context;
  /** The latest moment Claude Code can have sent its next model request: turn start, a response's end, a tool result. */
  sendAt: number;
  tools: Map<string, ToolCall>;
  usage?: DataOf<typeof UsageRecorded>;
  failure?: DataOf<typeof TurnFailed>;
  ended: boolean;
}

type TurnEnd = { status: "abandoned" | "unfinished"; reason: string };

/**
 * Keeps one open span per running turn. Tool-call spans are created once the call completes, so
 * approval events that reach the bus before `tool.called` still land on the right span.
 */
export class TurnTracer {
  private readonly turns = new Map<string, OpenTurn>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly log: Logger,
  ) {}

  attach(bus: EventBus): void {
    this.unsubscribe = bus.subscribe((e) => {
      if (!e.sessionId) return;
      try {
        this.handle(e.sessionId, e);
      } catch (err) {
        this.log.warn({ err, event: e.type }, "could not trace an event");
      }
    });
  }

  /** Stops listening and ends whatever is still open, so it is exported before the provider shuts down. */
  close(at = Date.now()): void {
    this.unsubscribe?.();
    for (const turn of [...this.turns.values()]) {
      this.endTurn(turn, at, { status: "unfinished", reason: "the server stopped during the turn" });
    }
  }

  private handle(sessionId: string, e: StoredEvent): void {
    const at = Date.parse(e.time);
    if (is(TurnStarted, e)) {
      this.startTurn(sessionId, e.data.turnId, at, e.data.traceparent);
      return;
    }
    const turn = this.turns.get(sessionId);
    if (!turn) return;
    if (is(ToolCalled, e)) {
      const call = this.call(turn, e.data.toolUseId, e.data.toolName, at);
      call.startedAt = Math.min(call.startedAt, at);
    } else if (is(PolicyDecided, e)) {
      const call = this.call(turn, e.data.toolUseId, e.data.toolName, at);
      call.decision = e.data.decision === "allow" ? "policy_allow" : "policy_deny";
      call.decidedBy = "policy";
      call.events.push({ name: "policy.decided", time: at, attributes: { "aegis.policy.reason": e.data.reason } });
    } else if (is(ApprovalRequested, e)) {
      const call = this.call(turn, e.data.toolUseId, e.data.toolName, at);
      call.approvalId = e.data.approvalId;
      call.events.push({
        name: "approval.requested",
        time: at,
        attributes: { [AegisAttr.approvalId]: e.data.approvalId },
      });
    } else if (is(ApprovalResolved, e)) {
      const call = this.call(turn, e.data.toolUseId, e.data.toolName, at);
      call.approvalId = e.data.approvalId;
      call.decision = e.data.status;
      call.decidedBy = e.data.decidedBy ?? call.decidedBy;
      call.waitMs = e.data.waitMs;
      call.events.push({
        name: "approval.resolved",
        time: at,
        attributes: { [AegisAttr.toolDecision]: e.data.status },
      });
    } else if (is(ToolCompleted, e)) {
      const call = this.call(turn, e.data.toolUseId, e.data.toolName, at);
      if (call.done) return;
      call.completedAt = at;
      if (call.answered) turn.sendAt = Math.max(turn.sendAt, at);
      this.toolSpan(turn, call, at, e.data.isError ? "error" : "success", e.data.durationMs);
    } else if (is(ModelResponded, e)) {
      this.modelSpan(turn, e.data, at);
    } else if (is(TurnRetried, e)) {
      turn.span.addEvent(
        "turn.retried",
        { "aegis.retry.attempt": e.data.attempt, "aegis.retry.error": e.data.error },
        at,
      );
    } else if (is(UsageRecorded, e)) {
      turn.usage = e.data;
      // turn.failed follows in the same unit of work; end the span once the whole batch is heard.
      queueMicrotask(() => this.endTurn(turn, at));
    } else if (is(TurnFailed, e)) {
      turn.failure = e.data;
    } else if (is(SessionEnded, e)) {
      this.endTurn(turn, at, { status: "abandoned", reason: `the session ended: ${e.data.reason}` });
    }
  }

  /** A turn a request started is a child of that request's span (and so joins the caller's trace). */
  private startTurn(sessionId: string, turnId: string, at: number, traceparent?: string): void {
    const previous = this.turns.get(sessionId);
    if (previous)
      this.endTurn(previous, at, previous.usage ? undefined : { status: "abandoned", reason: "superseded" });
    const origin = parseTraceparent(traceparent);
    const parent = origin ? trace.setSpanContext(ROOT_CONTEXT, origin) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      `invoke_agent ${AGENT_NAME}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: at,
        attributes: {
          [GenAi.operationName]: "invoke_agent",
          [GenAi.agentName]: AGENT_NAME,
          [GenAi.providerName]: PROVIDER,
          [GenAi.conversationId]: sessionId,
          [AegisAttr.sessionId]: sessionId,
          [AegisAttr.turnId]: turnId,
        },
      },
      parent,
    );
    this.turns.set(sessionId, {
      sessionId,
      id: turnId,
      span,
      ctx: trace.setSpan(ROOT_CONTEXT, span),
      sendAt: at,
      tools: new Map(),
      ended: false,
    });
  }

  private endTurn(turn: OpenTurn, at: number, end?: TurnEnd): void {
    if (turn.ended) return;
    turn.ended = true;
    if (this.turns.get(turn.sessionId) === turn) this.turns.delete(turn.sessionId);
    for (const call of turn.tools.values()) if (!call.done) this.toolSpan(turn, call, at, "unfinished", null);
    const { span, failure, usage } = turn;
    const status = end?.status ?? (!failure ? "completed" : failure.code === "INTERRUPTED" ? "interrupted" : "failed");
    span.setAttribute(AegisAttr.turnStatus, status);
    if (usage) span.setAttributes({ ...usageAttributes(usage), [AegisAttr.costUsd]: usage.costUsd });
    if (failure) span.setAttribute(ERROR_TYPE, failure.code);
    if (status === "failed" || status === "abandoned") {
      span.setStatus({ code: SpanStatusCode.ERROR, message: end?.reason ?? failure?.message ?? status });
    }
    span.end(at);
  }

  private call(turn: OpenTurn, toolUseId: string, name: string, at: number): ToolCall {
    let call = turn.tools.get(toolUseId);
    if (!call) {
      call = { toolUseId, name, startedAt: at, events: [], answered: false, done: false };
      turn.tools.set(toolUseId, call);
    }
    return call;
  }

  private toolSpan(turn: OpenTurn, call: ToolCall, at: number, outcome: string, durationMs: number | null): void {
    call.done = true;
    const decision = call.decision ?? "auto";
    const attributes: Attributes = {
      [GenAi.operationName]: "execute_tool",
      [GenAi.toolName]: call.name,
      [GenAi.toolCallId]: call.toolUseId,
      [AegisAttr.sessionId]: turn.sessionId,
      [AegisAttr.turnId]: turn.id,
      [AegisAttr.toolDecision]: decision,
      [AegisAttr.toolOutcome]: outcome,
    };
    if (call.decidedBy) attributes[AegisAttr.toolDecidedBy] = call.decidedBy;
    if (call.approvalId) attributes[AegisAttr.approvalId] = call.approvalId;
    if (call.waitMs !== undefined) attributes[AegisAttr.approvalWaitMs] = call.waitMs;
    if (durationMs !== null) attributes[AegisAttr.toolDurationMs] = durationMs;
    const span = this.tracer.startSpan(
      `execute_tool ${call.name}`,
      { kind: SpanKind.INTERNAL, startTime: call.startedAt, attributes },
      turn.ctx,
    );
    for (const e of call.events) span.addEvent(e.name, e.attributes, e.time);
    // A refused call ends in an error result by design; that is the decision, not a failure.
    if (outcome === "error" && decision !== "rejected" && decision !== "policy_deny") {
      span.setStatus({ code: SpanStatusCode.ERROR, message: "the tool returned an error" });
    }
    span.end(at);
  }

  /**
   * Claude Code sends one request at a time and the next only once the tool results are in, so a
   * request began no earlier than the previous response's end or the last awaited tool result.
   */
  private modelSpan(turn: OpenTurn, d: DataOf<typeof ModelResponded>, at: number): void {
    const span = this.tracer.startSpan(
      `chat ${d.model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: Math.min(turn.sendAt, at),
        attributes: {
          [GenAi.operationName]: "chat",
          [GenAi.providerName]: PROVIDER,
          [GenAi.system]: PROVIDER,
          [GenAi.requestModel]: d.model,
          [GenAi.responseModel]: d.model,
          [GenAi.responseId]: d.messageId,
          ...(d.stopReason ? { [GenAi.finishReasons]: [d.stopReason] } : {}),
          ...usageAttributes(d),
          [AegisAttr.sessionId]: turn.sessionId,
          [AegisAttr.turnId]: turn.id,
        },
      },
      turn.ctx,
    );
    span.end(at);
    turn.sendAt = at;
    for (const call of turn.tools.values()) {
      if (call.answered) continue;
      call.answered = true;
      if (call.completedAt !== undefined) turn.sendAt = Math.max(turn.sendAt, call.completedAt);
    }
  }
}
