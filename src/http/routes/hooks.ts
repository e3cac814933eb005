// /v1/hooks: Claude Code HTTP hooks from sessions Aegis did not start, and their installations.

import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AuthErrors } from "../../auth";
import { isAppError } from "../../core/errors";
import { FixedWindowCounter } from "../../core/fixed-window";
import {
  CreatedInstallationSchema,
  CreateInstallationInputSchema,
  HOOK_SECRET_HEADER,
  HookErrors,
  HookEventSchema,
  HookHeadersSchema,
  HookInputSchema,
  InstallationSchema,
  permissionHoldMs,
} from "../../hooks";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";

const errors = {
  400: ErrorResponseSchema,
  401: ErrorResponseSchema,
  403: ErrorResponseSchema,
  404: ErrorResponseSchema,
  429: ErrorResponseSchema,
};

export const hookRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { hooks, sessions, hookLimits }) => {
  // Bad secrets count per client address like bad API keys, in a counter of their own (as the
  // gateway's tokens do): a project whose shell lacks the secret must not lock its user out of the API.
  const failures = new FixedWindowCounter(60_000);
  // Before the body is read: an unauthenticated caller gets nothing parsed.
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers[HOOK_SECRET_HEADER];
    const secret = Array.isArray(header) ? header[0] : header;
    const gate = failures.read(req.ip);
    if (gate.count > hookLimits.maxFailuresPerMinute) {
      // Every local Claude Code shares one address: a project with a stale secret must not stop the
      // hooks of all the others. A live secret passes; other secrets past the limit get 429, unaudited.
      const live = await hooks.verify(secret);
      if (live) {
        req.hookInstallation = live;
        return;
      }
      void reply.header("retry-after", String(gate.resetsInSeconds));
      throw AuthErrors.tooManyFailures();
    }
    const from = { ip: req.ip, method: req.method, path: req.url.split("?")[0] ?? "" };
    req.hookInstallation = await hooks.authenticate(secret, from).catch(async (err: unknown) => {
      if (isAppError(err) && err.status === 401) failures.hit(req.ip);
      throw err;
    });
  };

  app.post(
    "/hooks/:event",
    {
      // Authenticated by the installation's secret header instead of an API key.
      config: { public: true },
      bodyLimit: hookLimits.bodyLimitBytes,
      onRequest: authenticate,
      schema: {
        operationId: "hook.receive",
        tags: ["hooks"],
        summary: "Receive a Claude Code HTTP hook (secret in the X-Aegis-Hook-Secret header).",
        params: z.object({ event: HookEventSchema }),
        headers: HookHeadersSchema,
        body: HookInputSchema,
        response: { 200: z.record(z.string(), z.unknown()), ...errors },
      },
    },
    async (req) => {
      const inst = req.hookInstallation;
      if (!inst) throw new Error("hook route reached without an installation");
      if (req.body.hook_event_name !== req.params.event) {
        throw HookErrors.eventMismatch({ details: { body: req.body.hook_event_name, url: req.params.event } });
      }
      const holdMs = permissionHoldMs(hookLimits.timeoutSeconds, req.headers["x-aegis-hook-timeout"]);
      return sessions.onHook({ keyId: inst.ownerKeyId, tenant: inst.tenant }, req.body, holdMs);
    },
  );

  app.post(
    "/hooks/installations",
    {
      config: { permission: "session.create" },
      schema: {
        operationId: "hook.install",
        tags: ["hooks"],
        summary: "Register a hook installation; its secret is in this response only (`ag hooks install` calls this).",
        body: CreateInstallationInputSchema,
        response: { 201: CreatedInstallationSchema, ...errors },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send({ ...(await hooks.install(req.body.name, callerOf(req))), timeoutSeconds: hookLimits.timeoutSeconds }),
  );

  app.get(
    "/hooks/installations",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "hook.list",
        tags: ["hooks"],
        summary: "Hook installations of your tenant (never their secrets).",
        response: { 200: z.object({ items: z.array(InstallationSchema) }), ...errors },
      },
    },
    async (req) => ({ items: await hooks.list(callerOf(req)) }),
  );

  app.delete(
    "/hooks/installations/:id",
    {
      config: { permission: "session.create" },
      schema: {
        operationId: "hook.revoke",
        tags: ["hooks"],
        summary: "Revoke an installation: its hooks are refused from now on.",
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: InstallationSchema, ...errors },
      },
    },
    async (req) => hooks.revoke(req.params.id, callerOf(req)),
  );
};
