// Liveness and readiness.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "./deps";

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });
const ReadySchema = z.object({
  ready: z.boolean(),
  checks: z.object({
    database: Check,
    claudeCode: Check.extend({ path: z.string(), version: z.string().optional() }),
  }),
});

export const healthRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, deps) => {
  app.get(
    "/health",
    {
      config: { public: true },
      schema: {
        operationId: "health.get",
        tags: ["health"],
        summary: "Liveness: the process answers.",
        response: { 200: z.object({ status: z.literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/ready",
    {
      // Readiness is for monitoring: the metrics token (a scraper, an orchestrator's probe) may read it too.
      config: { permission: "metrics.read" },
      schema: {
        operationId: "ready.get",
        tags: ["health"],
        summary: "Readiness: the database and the Claude Code binary are usable.",
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_req, reply) => {
      const database = await deps
        .checkDatabase()
        .then(() => ({ ok: true }))
        .catch((err: Error) => ({ ok: false, error: err.message }));
      const c = await deps.runtime.check();
      const claudeCode = {
        ok: c.ok,
        path: c.path,
        ...(c.version ? { version: c.version } : {}),
        ...(c.error ? { error: `${c.error}; install it with npm install or set claudePath in the config` } : {}),
      };
      const ready = database.ok && claudeCode.ok;
      return reply.code(ready ? 200 : 503).send({ ready, checks: { database, claudeCode } });
    },
  );
};
