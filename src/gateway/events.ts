// Gateway events: each metered model request, and each request a budget refused.
import { z } from "zod";
import { defineEvent } from "../core/events";

export const BudgetScopeSchema = z.enum(["session", "key", "tenant"]);
export type BudgetScope = z.infer<typeof BudgetScopeSchema>;

export const BudgetWindowSchema = z.union([z.enum(["day", "month", "session"]), z.number().int().positive()]);

export const BudgetExceeded = defineEvent(
  "budget.exceeded",
  z.object({
    scope: BudgetScopeSchema,
    /** The session id, API key id or tenant whose budget is used up. */
    subject: z.string(),
    /** Which limit: USD or tokens. */
    unit: z.enum(["usd", "tokens"]),
    limit: z.number(),
    spent: z.number(),
    window: BudgetWindowSchema,
    /** When the window starts afresh; null for a session's lifetime budget or a rolling window. */
    resetsAt: z.string().nullable(),
    message: z.string(),
  }),
);

export const ModelRequestMetered = defineEvent(
  "gateway.request_metered",
  z.object({
    model: z.string().nullable(),
    path: z.string(),
    outcome: z.enum(["ok", "error", "refused", "aborted"]),
    status: z.number().int(),
    errorType: z.string().nullable(),
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    cacheReadTokens: z.number().int(),
    cacheWriteTokens: z.number().int(),
    costUsd: z.number().nullable().describe("From the Aegis price table; null when the model is not in it."),
    latencyMs: z.number(),
    ttftMs: z.number().nullable(),
  }),
);
