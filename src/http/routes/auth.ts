// /v1/auth: API keys, the caller's identity, and short-lived SSE tokens.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  ApiKeySchema,
  CreatedKeySchema,
  CreateKeyInputSchema,
  PrincipalSchema,
  RotateKeyInputSchema,
} from "../../auth";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";

const KeyParams = z.object({ id: z.string().min(1).max(100) });
const errors = {
  400: ErrorResponseSchema,
  401: ErrorResponseSchema,
  403: ErrorResponseSchema,
  404: ErrorResponseSchema,
};

export const authRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { auth, sseTokens }) => {
  app.post(
    "/auth/keys",
    {
      config: { permission: "key.manage" },
      schema: {
        operationId: "key.create",
        tags: ["auth"],
        summary: "Create an API key. The token is in this response only.",
        body: CreateKeyInputSchema,
        response: { 201: CreatedKeySchema, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await auth.createKey(req.body, callerOf(req))),
  );

  app.get(
    "/auth/keys",
    {
      config: { permission: "key.read" },
      schema: {
        operationId: "key.list",
        tags: ["auth"],
        summary: "List API keys (never their secrets).",
        response: { 200: z.object({ items: z.array(ApiKeySchema) }), ...errors },
      },
    },
    async (req) => ({ items: await auth.listKeys(callerOf(req).principal) }),
  );

  app.delete(
    "/auth/keys/:id",
    {
      config: { permission: "key.manage" },
      schema: {
        operationId: "key.revoke",
        tags: ["auth"],
        summary: "Revoke an API key at once.",
        params: KeyParams,
        response: { 200: ApiKeySchema, ...errors },
      },
    },
    async (req) => auth.revokeKey(req.params.id, callerOf(req)),
  );

  app.post(
    "/auth/keys/:id/rotate",
    {
      config: { permission: "key.manage" },
      schema: {
        operationId: "key.rotate",
        tags: ["auth"],
        summary: "Give the key a new secret; the old one keeps working for the grace period.",
        params: KeyParams,
        body: RotateKeyInputSchema.optional(),
        response: { 200: CreatedKeySchema, ...errors, 409: ErrorResponseSchema },
      },
    },
    async (req) => auth.rotateKey(req.params.id, req.body?.gracePeriodSeconds ?? 3600, callerOf(req)),
  );

  app.get(
    "/auth/whoami",
    {
      config: { permission: "self.read" },
      schema: {
        operationId: "auth.whoami",
        tags: ["auth"],
        summary: "The calling key: id, role, tenant and what it may do.",
        response: { 200: PrincipalSchema, 401: ErrorResponseSchema },
      },
    },
    async (req) => {
      const p = callerOf(req).principal;
      return { ...p, scopes: p.scopes ? [...p.scopes] : null, permissions: auth.principalPermissions(p) };
    },
  );

  app.post(
    "/auth/sse-token",
    {
      config: { permission: "event.read" },
      schema: {
        operationId: "auth.ssetoken",
        tags: ["auth"],
        summary: "Mint a single-use token (60 s at most) to open one event stream with ?sse_token=.",
        response: {
          201: z.object({ token: z.string(), expiresAt: z.string(), expiresInSeconds: z.number().int() }),
          ...errors,
        },
      },
    },
    async (req, reply) => reply.code(201).send(sseTokens.mint(callerOf(req).principal)),
  );
};
