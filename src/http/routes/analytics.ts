// /v1/analytics: sessions, turns, tokens, cost and rate limits over the sessions the caller may read.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  AnalyticsCostsSchema,
  AnalyticsQuerySchema,
  AnalyticsRateLimitsSchema,
  AnalyticsSummarySchema,
  AnalyticsTokensSchema,
} from "../../analytics";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";

const errors = { 400: ErrorResponseSchema, 401: ErrorResponseSchema, 403: ErrorResponseSchema };

export const analyticsRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { analytics }) => {
  app.get(
    "/analytics/summary",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "analytics.summary",
        tags: ["analytics"],
        summary: "Sessions, turns, tokens and cost over a range, with a daily trend.",
        description:
          "`gateway` figures are metered by the Aegis model gateway from the model API's usage and priced with the Aegis price table; `claudeCode` figures are what Claude Code reported per turn (its own costUSD).",
        querystring: AnalyticsQuerySchema,
        response: { 200: AnalyticsSummarySchema, ...errors },
      },
    },
    async (req) => analytics.summary(req.query, callerOf(req)),
  );

  app.get(
    "/analytics/costs",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "analytics.costs",
        tags: ["analytics"],
        summary: "Cost by model, UTC day, API key and tenant; unpriced models show as null (unknown).",
        querystring: AnalyticsQuerySchema,
        response: { 200: AnalyticsCostsSchema, ...errors },
      },
    },
    async (req) => analytics.costs(req.query, callerOf(req)),
  );

  app.get(
    "/analytics/tokens",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "analytics.tokens",
        tags: ["analytics"],
        summary: "Tokens by model and kind (input, output, cache read, cache write), as the model API reported them.",
        querystring: AnalyticsQuerySchema,
        response: { 200: AnalyticsTokensSchema, ...errors },
      },
    },
    async (req) => analytics.tokens(req.query, callerOf(req)),
  );

  app.get(
    "/analytics/rate-limits",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "analytics.ratelimits",
        tags: ["analytics"],
        summary: "The model API's remaining request and token budget, the pace per turn, and how many more turns fit.",
        response: { 200: AnalyticsRateLimitsSchema, 401: ErrorResponseSchema, 403: ErrorResponseSchema },
      },
    },
    async (req) => analytics.rateLimits(callerOf(req)),
  );
};
