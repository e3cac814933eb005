// /v1/sessions/{id}/transcript, metrics and latency: what a session did.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  PageQuerySchema,
  pageOf,
  SessionLatencySchema,
  SessionMetricsSchema,
  sessionLatency,
  sessionMetrics,
  TranscriptItemSchema,
  transcriptPage,
} from "../../session";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";
import { SessionParams } from "./sessions";

export const sessionHistoryRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { sessions, db }) => {
  app.get(
    "/sessions/:id/transcript",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "session.transcript",
        tags: ["sessions"],
        summary: "Prompts, assistant text, tool calls with results, approval decisions and errors, oldest first.",
        params: SessionParams,
        querystring: PageQuerySchema,
        response: { 200: pageOf(TranscriptItemSchema), 400: ErrorResponseSchema, 404: ErrorResponseSchema },
      },
    },
    async (req) => {
      const s = await sessions.resolve(req.params.id, callerOf(req));
      return transcriptPage(db, s.id, req.query.cursor, req.query.limit);
    },
  );

  app.get(
    "/sessions/:id/metrics",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "session.metrics",
        tags: ["sessions"],
        summary: "Turns, tool calls by tool, tokens, cost and approvals, from what Claude Code reported.",
        params: SessionParams,
        response: { 200: SessionMetricsSchema, 404: ErrorResponseSchema },
      },
    },
    async (req) => sessionMetrics(db, (await sessions.resolve(req.params.id, callerOf(req))).id),
  );

  app.get(
    "/sessions/:id/latency",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "session.latency",
        tags: ["sessions"],
        summary: "Time to first token, turn durations and approval waits.",
        params: SessionParams,
        response: { 200: SessionLatencySchema, 404: ErrorResponseSchema },
      },
    },
    async (req) => sessionLatency(db, (await sessions.resolve(req.params.id, callerOf(req))).id),
  );
};
