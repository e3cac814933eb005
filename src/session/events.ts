// Session, message, tool and usage events: declared once, published by the session service.
import { z } from "zod";
import { PermissionModeSchema } from "../config/schema";
import { defineEvent } from "../core/events";
import { SessionErrorSchema } from "./schema";
import { SessionStatusSchema } from "./status";

export const SessionCreated = defineEvent(
  "session.created",
  z.object({ name: z.string().nullable(), workDir: z.string(), claudeSessionId: z.string(), resumed: z.boolean() }),
);

export const SessionStatusChanged = defineEvent(
  "session.status_changed",
  z.object({ from: SessionStatusSchema, to: SessionStatusSchema, reason: z.string().optional() }),
);

export const SessionUpdated = defineEvent(
  "session.updated",
  z.object({ permissionMode: PermissionModeSchema.optional() }),
);

export const SessionEnded = defineEvent(
  "session.ended",
  z.object({ status: SessionStatusSchema, reason: z.string(), error: SessionErrorSchema.nullable() }),
);

export const MessageSubmitted = defineEvent(
  "message.submitted",
  z.object({ itemId: z.string(), text: z.string(), queued: z.boolean() }),
);

/** A stored prompt that will not run: dropped by escape, or its session ended first. */
export const MessageDropped = defineEvent("message.dropped", z.object({ itemId: z.string(), reason: z.string() }));

export const MessageDelta = defineEvent("message.delta", z.object({ turnId: z.string(), text: z.string() }));

export const MessageCompleted = defineEvent(
  "message.completed",
  z.object({ turnId: z.string(), itemId: z.string().nullable(), text: z.string() }),
);

export const ToolCalled = defineEvent(
  "tool.called",
  z.object({
    turnId: z.string().nullable(),
    itemId: z.string(),
    toolUseId: z.string(),
    toolName: z.string(),
    input: z.unknown(),
  }),
);

export const ToolCompleted = defineEvent(
  "tool.completed",
  z.object({
    itemId: z.string(),
    toolUseId: z.string(),
    toolName: z.string(),
    isError: z.boolean(),
    output: z.string(),
    truncated: z.boolean(),
    durationMs: z.number().nullable(),
  }),
);

export const UsageRecorded = defineEvent(
  "usage.recorded",
  z.object({
    turnId: z.string(),
    inputTokens: z.number(),
    outputTokens: z.number(),
    cacheReadTokens: z.number(),
    cacheWriteTokens: z.number(),
    costUsd: z.number(),
    /** The same usage split by model (keys are model ids); empty when Claude Code did not say. */
    byModel: z
      .record(
        z.string(),
        z.object({
          inputTokens: z.number(),
          outputTokens: z.number(),
          cacheReadTokens: z.number(),
          cacheWriteTokens: z.number(),
          costUsd: z.number(),
        }),
      )
      .default({}),
  }),
);

export const TurnFailed = defineEvent(
  "turn.failed",
  z.object({ turnId: z.string(), code: z.string(), message: z.string(), status: z.number().nullable() }),
);

export const TurnRetried = defineEvent(
  "turn.retried",
  z.object({
    turnId: z.string().nullable(),
    attempt: z.number(),
    maxRetries: z.number(),
    status: z.number().nullable(),
    error: z.string(),
  }),
);

export const PolicyDecided = defineEvent(
  "policy.decided",
  z.object({
    toolUseId: z.string(),
    toolName: z.string(),
    decision: z.enum(["allow", "deny"]),
    reason: z.string(),
    rule: z.object({ layer: z.string(), index: z.number() }).nullable(),
  }),
);

/** A queued prompt went to Claude Code; the turn's later events carry this turnId. */
export const TurnStarted = defineEvent(
  "turn.started",
  z.object({
    turnId: z.string(),
    itemId: z.string().nullable(),
    /** W3C traceparent of the request that sent the prompt, when tracing is on. */
    traceparent: z.string().optional(),
  }),
);

/** One model API request of a turn was answered; usage is that request's alone. */
export const ModelResponded = defineEvent(
  "model.responded",
  z.object({
    turnId: z.string().nullable(),
    messageId: z.string(),
    model: z.string(),
    stopReason: z.string().nullable(),
    inputTokens: z.number(),
    outputTokens: z.number(),
    cacheReadTokens: z.number(),
    cacheWriteTokens: z.number(),
  }),
);

export const BreakerTripped = defineEvent(
  "breaker.tripped",
  z.object({ reason: z.string(), count: z.number().int(), key: z.string() }),
);

export const BreakerReset = defineEvent("breaker.reset", z.object({ by: z.string() }));

export const SessionNotified = defineEvent(
  "session.notified",
  z.object({ message: z.string(), title: z.string().nullable(), type: z.string().nullable() }),
);

export const HookReceived = defineEvent("hook.received", z.object({ event: z.string(), detail: z.unknown() }));
