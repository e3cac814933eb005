// /v1/sessions: create, list, read and kill sessions.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  CreateSessionInputSchema,
  ListSessionsQuerySchema,
  pageOf,
  SessionSchema,
  SessionWithReuseSchema,
  UpdateSessionInputSchema,
} from "../../session";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";

export const SessionParams = z.object({ id: z.string().min(1).max(100).describe("Session id (ses_…) or name.") });
const errors = {
  400: ErrorResponseSchema,
  401: ErrorResponseSchema,
  403: ErrorResponseSchema,
  404: ErrorResponseSchema,
  409: ErrorResponseSchema,
};

export const sessionRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { sessions }) => {
  app.post(
    "/sessions",
    {
      config: { permission: "session.create" },
      schema: {
        operationId: "session.create",
        tags: ["sessions"],
        summary: "Start a Claude Code session, or reuse an idle one in the same workDir.",
        body: CreateSessionInputSchema,
        response: { 200: SessionWithReuseSchema, 201: SessionWithReuseSchema, ...errors, 503: ErrorResponseSchema },
      },
    },
    async (req, reply) => {
      const { session, reused } = await sessions.create(req.body, callerOf(req));
      return reply.code(reused ? 200 : 201).send({ ...session, reused });
    },
  );

  app.get(
    "/sessions",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "session.list",
        tags: ["sessions"],
        summary: "List sessions, newest first.",
        querystring: ListSessionsQuerySchema,
        response: { 200: pageOf(SessionSchema), 400: ErrorResponseSchema },
      },
    },
    async (req) => sessions.list(req.query, callerOf(req)),
  );

  app.get(
    "/sessions/:id",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "session.get",
        tags: ["sessions"],
        summary: "Read one session.",
        params: SessionParams,
        response: { 200: SessionSchema, 404: ErrorResponseSchema },
      },
    },
    async (req) => sessions.get(req.params.id, callerOf(req)),
  );

  app.patch(
    "/sessions/:id",
    {
      config: { permission: "session.control" },
      schema: {
        operationId: "session.update",
        tags: ["sessions"],
        summary: "Change a live session's settings (permissionMode).",
        params: SessionParams,
        body: UpdateSessionInputSchema,
        response: { 200: SessionSchema, ...errors },
      },
    },
    async (req) => sessions.update(req.params.id, req.body, callerOf(req)),
  );

  app.delete(
    "/sessions/:id",
    {
      config: { permission: "session.control" },
      schema: {
        operationId: "session.kill",
        tags: ["sessions"],
        summary: "Kill the session's Claude Code process. The record and its history stay; status becomes stopped.",
        params: SessionParams,
        response: { 200: SessionSchema, 404: ErrorResponseSchema },
      },
    },
    async (req) => sessions.kill(req.params.id, callerOf(req)),
  );
};
