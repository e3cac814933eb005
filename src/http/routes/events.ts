// Server-sent event streams: one session's events, or every session's.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { wholeSeq } from "../../core/whole-number";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import { resumePoint, streamEvents } from "../sse";
import type { RouteDeps } from "./deps";
import { SessionParams } from "./sessions";

const StreamQuery = z.strictObject({
  sse_token: z
    .string()
    .optional()
    .describe("A single-use token from POST /v1/auth/sse-token, for clients that cannot send headers."),
  after: wholeSeq().optional().describe("Replay events after this sequence (Last-Event-ID wins)."),
});
const streamResponse = {
  200: z.string().describe("text/event-stream: a snapshot event, stored events after Last-Event-ID, then live events."),
  400: ErrorResponseSchema.describe("Last-Event-ID or ?after= is not a whole number from 0 to 2^53 − 1."),
};

export const eventRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, deps) => {
  const sse = { db: deps.db, events: deps.events, bus: deps.bus, ...deps.sse };

  app.get(
    "/sessions/:id/events",
    {
      config: { permission: "event.read", sseToken: true },
      // A HEAD would hold the stream open without ever sending its headers.
      exposeHeadRoute: false,
      schema: {
        operationId: "session.events",
        tags: ["events"],
        summary: "Stream one session's events (SSE).",
        params: SessionParams,
        querystring: StreamQuery,
        response: { ...streamResponse, 404: ErrorResponseSchema },
      },
    },
    async (req, reply) => {
      const caller = callerOf(req);
      const s = await deps.sessions.resolve(req.params.id, caller);
      await streamEvents(sse, req, reply, {
        keyId: caller.principal.keyId,
        active: () => deps.auth.isActive(caller.principal),
        sessionId: s.id,
        afterSeq: resumePoint(req, req.query.after),
        snapshot: async () => ({ type: "session.snapshot", data: await deps.sessions.get(s.id, caller) }),
      });
    },
  );

  app.get(
    "/events",
    {
      config: { permission: "event.read", sseToken: true },
      // A HEAD would hold the stream open without ever sending its headers.
      exposeHeadRoute: false,
      schema: {
        operationId: "event.stream",
        tags: ["events"],
        summary: "Stream every session's events (SSE).",
        querystring: StreamQuery,
        response: streamResponse,
      },
    },
    async (req, reply) => {
      const caller = callerOf(req);
      await streamEvents(sse, req, reply, {
        keyId: caller.principal.keyId,
        active: () => deps.auth.isActive(caller.principal),
        afterSeq: resumePoint(req, req.query.after),
        visible:
          caller.principal.role === "admin" ? undefined : (sessionId) => deps.sessions.canRead(sessionId, caller),
        snapshot: async () => ({
          type: "sessions.snapshot",
          // Live ones only, in the query: a page of the newest sessions may hold none of them.
          data: await deps.sessions.listLive(caller, 200),
        }),
      });
    },
  );
};
