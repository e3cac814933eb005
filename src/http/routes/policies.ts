// /v1/policies and /v1/sessions/{id}/policy: the tool policies, versioned, plus a dry run.
import { isAbsolute } from "node:path";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf } from "../../auth";
import { type Policy, PolicySchema, SERVER_SCOPE_ID, StoredPolicySchema, VerdictSchema } from "../../policy";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";
import { SessionParams } from "./sessions";

const PolicyViewSchema = z.object({
  scope: z.object({ type: z.string(), id: z.string() }),
  version: z.number().int().describe("0 when nothing was saved through the API."),
  policy: PolicySchema.nullable(),
  source: z.enum(["api", "config", "none"]),
});
const ScopeParams = z.object({
  type: z.enum(["tenants", "keys"]),
  id: z.string().min(1).max(100),
});
const EvaluateInputSchema = z.strictObject({
  toolName: z.string().min(1).max(200),
  input: z.record(z.string(), z.unknown()).default({}),
  sessionId: z.string().max(100).optional().describe("Evaluate with this session's layers and workDir."),
  workDir: z
    .string()
    .max(4096)
    .refine((p) => isAbsolute(p), "give an absolute path, as a session's workDir is")
    .optional(),
  policy: PolicySchema.optional().describe("Evaluate this policy alone instead of stored ones."),
});
const errors = {
  400: ErrorResponseSchema,
  401: ErrorResponseSchema,
  403: ErrorResponseSchema,
  404: ErrorResponseSchema,
};
const layerOf = (t: "tenants" | "keys") => (t === "tenants" ? "tenant" : "key");

export const policyRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { policies, sessions }) => {
  const server = { type: "server" as const, id: SERVER_SCOPE_ID };

  app.get(
    "/policies/default",
    {
      config: { permission: "policy.read" },
      schema: {
        operationId: "policy.getdefault",
        tags: ["policies"],
        summary: "The server default policy.",
        response: { 200: PolicyViewSchema, ...errors },
      },
    },
    async () => policies.get(server),
  );

  app.put(
    "/policies/default",
    {
      config: { permission: "policy.manage" },
      schema: {
        operationId: "policy.putdefault",
        tags: ["policies"],
        summary: "Replace the server default policy (a new version; audited).",
        body: PolicySchema,
        response: { 200: StoredPolicySchema, ...errors },
      },
    },
    async (req) => policies.put(server, req.body, actorOf(callerOf(req))),
  );

  app.get(
    "/policies/:type/:id",
    {
      config: { permission: "policy.manage" },
      schema: {
        operationId: "policy.getscope",
        tags: ["policies"],
        summary: "A tenant's or an API key's policy.",
        params: ScopeParams,
        response: { 200: PolicyViewSchema, ...errors },
      },
    },
    async (req) => policies.get({ type: layerOf(req.params.type), id: req.params.id }),
  );

  app.put(
    "/policies/:type/:id",
    {
      config: { permission: "policy.manage" },
      schema: {
        operationId: "policy.putscope",
        tags: ["policies"],
        summary: "Replace a tenant's or an API key's policy (a new version; audited).",
        params: ScopeParams,
        body: PolicySchema,
        response: { 200: StoredPolicySchema, ...errors },
      },
    },
    async (req) =>
      policies.put({ type: layerOf(req.params.type), id: req.params.id }, req.body, actorOf(callerOf(req))),
  );

  app.get(
    "/sessions/:id/policy",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "session.getpolicy",
        tags: ["policies"],
        summary: "The session's own policy layer.",
        params: SessionParams,
        response: { 200: PolicyViewSchema, ...errors },
      },
    },
    async (req) => {
      const s = await sessions.resolve(req.params.id, callerOf(req));
      return policies.get({ type: "session", id: s.id });
    },
  );

  app.put(
    "/sessions/:id/policy",
    {
      config: { permission: "session.control" },
      schema: {
        operationId: "session.putpolicy",
        tags: ["policies"],
        summary: "Replace the session's policy layer. Deny rules of wider layers still win.",
        params: SessionParams,
        body: PolicySchema,
        response: { 200: StoredPolicySchema, ...errors },
      },
    },
    async (req) => {
      const caller = callerOf(req);
      const s = await sessions.resolve(req.params.id, caller, "act");
      return policies.put({ type: "session", id: s.id }, req.body, actorOf(caller));
    },
  );

  app.post(
    "/policies/evaluate",
    {
      config: { permission: "policy.read" },
      schema: {
        operationId: "policy.evaluate",
        tags: ["policies"],
        summary: "Dry run: the decision for a tool call and the rule that made it.",
        body: EvaluateInputSchema,
        response: { 200: VerdictSchema, ...errors },
      },
    },
    async (req) => {
      const b = req.body;
      if (b.policy)
        return policies.evaluateWith([{ name: "session", policy: b.policy as Policy }], {
          toolName: b.toolName,
          input: b.input,
          workDir: b.workDir ?? "/",
        });
      if (b.sessionId) {
        const s = await sessions.resolve(b.sessionId, callerOf(req));
        return policies.decide(s.id, { toolName: b.toolName, input: b.input, workDir: b.workDir });
      }
      return policies.evaluateWith(await policies.layers(null, null), {
        toolName: b.toolName,
        input: b.input,
        workDir: b.workDir ?? "/",
      });
    },
  );
};
