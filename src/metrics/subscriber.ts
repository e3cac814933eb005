// Turns bus events into counter and histogram updates: the one place metrics hear the domains.
import type { z } from "zod";
import { ApprovalRequested, ApprovalResolved } from "../approval";
import type { EventBus, EventDef, StoredEvent } from "../core/events";
import {
  MessageCompleted,
  MessageSubmitted,
  PolicyDecided,
  SessionCreated,
  SessionEnded,
  ToolCompleted,
  TurnFailed,
  TurnRetried,
  UsageRecorded,
} from "../session";
import type { Series } from "./series";

type Handler = (e: StoredEvent) => void;

const TOKEN_KINDS = [
  ["inputTokens", "input"],
  ["outputTokens", "output"],
  ["cacheReadTokens", "cache_read"],
  ["cacheWriteTokens", "cache_write"],
] as const;

/** Subscribes to the bus; returns the unsubscribe function. */
export function subscribeMetrics(bus: EventBus, m: Series): () => void {
  const handlers = new Map<string, Handler>();
  // Payloads were parsed against the same schema when emitted, so the cast only restores the type.
  const on = <S extends z.ZodType>(def: EventDef<string, S>, fn: (data: z.output<S>, e: StoredEvent) => void) => {
    handlers.set(def.type, (e) => fn(e.data as z.output<S>, e));
  };

  // A tool call's decision arrives before it finishes; remembered by toolUseId until then.
  const decisions = new Map<string, { sessionId: string | null; decision: string }>();
  const forgetSession = (sessionId: string | null) => {
    for (const [id, d] of decisions) if (d.sessionId === sessionId) decisions.delete(id);
  };

  on(SessionCreated, () => m.sessionsStarted.inc());
  on(SessionEnded, (d, e) => {
    m.sessionsEnded.inc({ outcome: d.status });
    forgetSession(e.sessionId);
  });
  on(MessageSubmitted, () => m.messages.inc({ role: "user" }));
  on(MessageCompleted, () => m.messages.inc({ role: "assistant" }));
  on(PolicyDecided, (d, e) => {
    decisions.set(d.toolUseId, { sessionId: e.sessionId, decision: `policy_${d.decision}` });
  });
  on(ApprovalRequested, (d) => m.approvalsRequested.inc({ tool: d.toolName }));
  on(ApprovalResolved, (d, e) => {
    m.approvalWait.observe({ outcome: d.status }, d.waitMs / 1000);
    decisions.set(d.toolUseId, { sessionId: e.sessionId, decision: d.status });
  });
  on(ToolCompleted, (d) => {
    const decision = decisions.get(d.toolUseId)?.decision ?? "auto";
    decisions.delete(d.toolUseId);
    m.toolCalls.inc({ tool: d.toolName, decision });
  });
  on(UsageRecorded, (d, e) => {
    m.turns.inc();
    // Every tool call of the turn has finished (or never will) once the turn has ended.
    forgetSession(e.sessionId);
    const byModel = Object.keys(d.byModel).length > 0 ? d.byModel : { unknown: d };
    for (const [model, u] of Object.entries(byModel)) {
      for (const [field, kind] of TOKEN_KINDS) if (u[field] > 0) m.tokens.inc({ model, kind }, u[field]);
      if (u.costUsd > 0) m.cost.inc({ model }, u.costUsd);
    }
  });
  on(TurnRetried, (d) => m.modelErrors.inc({ status: String(d.status ?? "none") }));
  on(TurnFailed, (d) => {
    m.turnFailures.inc({ code: d.code });
    if (d.status !== null || d.code === "MODEL_API_ERROR") m.modelErrors.inc({ status: String(d.status ?? "none") });
  });

  return bus.subscribe((e) => {
    m.events.inc({ type: e.type });
    handlers.get(e.type)?.(e);
  });
}
