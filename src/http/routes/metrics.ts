// GET /metrics: Prometheus text exposition, outside /v1 where scrapers expect it.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";

export const metricsRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { metrics }) => {
  app.get(
    "/metrics",
    {
      config: { permission: "metrics.read" },
      schema: {
        operationId: "metrics.get",
        tags: ["health"],
        summary: "Prometheus metrics (text format). Send a key with metrics.read or the metrics.token.",
        response: {
          200: {
            description: "Prometheus text exposition format 0.0.4.",
            content: { "text/plain": { schema: z.string() } },
          },
          401: ErrorResponseSchema,
          403: ErrorResponseSchema,
        },
      },
    },
    async (_req, reply) => reply.type(metrics.contentType).send(await metrics.render()),
  );
};
