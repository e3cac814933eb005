// Analytics inputs and outputs: the public contract of /v1/analytics.
import { z } from "zod";
import { SessionStatusSchema } from "../session";

const Instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], {
    error: "give a date (2026-01-31) or a date-time with an offset (2026-01-31T09:00:00Z)",
  })
  .describe("A date (UTC midnight) or a date-time with offset.");

export const AnalyticsQuerySchema = z
  .strictObject({
    from: Instant.optional().describe("Start of the range (inclusive). Default: 30 days before `to`."),
    to: Instant.optional().describe("End of the range (exclusive). Default: now."),
  })
  .refine((q) => !q.from || !q.to || new Date(q.from) < new Date(q.to), "from must be before to");
export type AnalyticsQuery = z.infer<typeof AnalyticsQuerySchema>;

export const TokensSchema = z.object({
  input: z.number().int(),
  output: z.number().int(),
  cacheRead: z.number().int(),
  cacheWrite: z.number().int(),
});
export type Tokens = z.infer<typeof TokensSchema>;

const Range = { from: z.string(), to: z.string() };

const GatewayCost = {
  costUsd: z
    .number()
    .describe(
      "USD from the Aegis price table over the gateway's metered usage; requests of unpriced models add nothing.",
    ),
  unpricedRequests: z.number().int().describe("Requests whose model is not in the price table: their cost is unknown."),
  requests: z.number().int(),
};

export const AnalyticsSummarySchema = z.object({
  ...Range,
  sessions: z.object({
    created: z.number().int(),
    byStatus: z.record(SessionStatusSchema, z.number().int()).describe("Current status of the sessions created."),
  }),
  turns: z
    .object({
      total: z.number().int(),
      completed: z.number().int(),
      failed: z.number().int(),
      interrupted: z.number().int(),
    })
    .describe("Turns started in the range, as Claude Code reported them."),
  gateway: z
    .object({
      ...GatewayCost,
      errors: z.number().int(),
      refused: z.number().int().describe("Requests a budget refused."),
      tokens: TokensSchema,
    })
    .describe("Metered by the Aegis model gateway from the model API's own usage figures."),
  claudeCode: z
    .object({ tokens: TokensSchema, costUsd: z.number().describe("Claude Code's own costUSD per turn.") })
    .describe("Reported by Claude Code at the end of each turn (also when the gateway is off)."),
  daily: z.array(
    z.object({
      date: z.string().describe("UTC day, YYYY-MM-DD."),
      sessions: z.number().int(),
      turns: z.number().int(),
      requests: z.number().int(),
      tokens: TokensSchema,
      costUsd: z.number(),
      unpricedRequests: z.number().int(),
      claudeCodeCostUsd: z.number(),
    }),
  ),
});
export type AnalyticsSummary = z.infer<typeof AnalyticsSummarySchema>;

export const AnalyticsCostsSchema = z.object({
  ...Range,
  total: z.object(GatewayCost),
  byModel: z.array(
    z.object({
      model: z.string().nullable(),
      requests: z.number().int(),
      costUsd: z.number().nullable().describe("null: the model is not in the price table (unknown, never guessed)."),
    }),
  ),
  byDay: z.array(z.object({ date: z.string(), ...GatewayCost })),
  byKey: z.array(
    z.object({ keyId: z.string().nullable().describe("The API key that started the session."), ...GatewayCost }),
  ),
  byTenant: z.array(z.object({ tenant: z.string(), ...GatewayCost })),
  claudeCode: z
    .object({ costUsd: z.number(), byDay: z.array(z.object({ date: z.string(), costUsd: z.number() })) })
    .describe("Claude Code's own costUSD per turn, for comparison."),
});
export type AnalyticsCosts = z.infer<typeof AnalyticsCostsSchema>;

export const AnalyticsTokensSchema = z.object({
  ...Range,
  total: TokensSchema.extend({ requests: z.number().int() }).describe("Metered by the gateway."),
  byModel: z.array(TokensSchema.extend({ model: z.string().nullable(), requests: z.number().int() })),
  claudeCode: TokensSchema.describe("Reported by Claude Code per turn."),
});
export type AnalyticsTokens = z.infer<typeof AnalyticsTokensSchema>;

const Budget = z
  .object({
    limit: z.number().nullable(),
    remaining: z.number().nullable().describe("As the model API last reported it."),
    reset: z.string().nullable().describe("When the model API said this limit refills."),
  })
  .nullable();

export const RateLimitDimensionSchema = z.enum(["requests", "tokens", "input_tokens", "output_tokens"]);

export const AnalyticsRateLimitsSchema = z.object({
  observedAt: z
    .string()
    .nullable()
    .describe("When the latest answer carrying rate-limit headers started; null: none seen."),
  model: z.string().nullable(),
  requests: Budget,
  tokens: Budget,
  inputTokens: Budget,
  outputTokens: Budget,
  retryAfterSeconds: z.number().nullable(),
  pace: z
    .object({
      turnsSampled: z.number().int(),
      requestsPerTurn: z.number().nullable(),
      tokensPerTurn: z.number().nullable().describe("Input + cache writes + output; cache reads are not counted."),
      inputTokensPerTurn: z.number().nullable().describe("Input + cache writes."),
      outputTokensPerTurn: z.number().nullable(),
    })
    .describe("Measured over the latest turns (up to 20) and the gateway requests made during them."),
  forecast: z.object({
    turnsLeft: z
      .number()
      .int()
      .nullable()
      .describe("How many more turns fit in the remaining budget at the current pace; null without a pace or headers."),
    limitedBy: RateLimitDimensionSchema.nullable(),
    resetsAt: z.string().nullable(),
  }),
});
export type AnalyticsRateLimits = z.infer<typeof AnalyticsRateLimitsSchema>;
