// Server-sent event streams: one session's events, or every session's.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { LIVE_STATUSES } from "../../session";
import { ErrorResponseSchema } from "../errors";
import { resumePoint, streamEvents } from "../sse";
import type { RouteDeps } from "./deps";
import { SessionParams } from "./sessions";

const StreamQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional().describe("Replay events after this sequence (Last-Event-ID wins)."),
});
const streamResponse = {
  200: z.string().describe("text/event-stream: a snapshot event, stored events after Last-Event-ID, then live events."),
};

export const eventRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, deps) => {
  const sse = { db: deps.db, events: deps.events, bus: deps.bus, ...deps.sse };

  app.get(
    "/sessions/:id/events",
    {
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
      const s = await deps.sessions.resolve(req.params.id);
      await streamEvents(sse, req, reply, {
        sessionId: s.id,
        afterSeq: resumePoint(req, req.query.after),
        snapshot: async () => ({ type: "session.snapshot", data: await deps.sessions.get(s.id) }),
      });
    },
  );

  app.get(
    "/events",
    {
      schema: {
        operationId: "event.stream",
        tags: ["events"],
        summary: "Stream every session's events (SSE).",
        querystring: StreamQuery,
        response: streamResponse,
      },
    },
    async (req, reply) => {
      await streamEvents(sse, req, reply, {
        afterSeq: resumePoint(req, req.query.after),
        snapshot: async () => ({
          type: "sessions.snapshot",
          data: (await deps.sessions.list({ limit: 200, status: undefined })).items.filter((s) =>
            LIVE_STATUSES.includes(s.status),
          ),
        }),
      });
    },
  );
};
