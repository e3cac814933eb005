// /v1/approvals: tool calls waiting for (or given) a decision, across the caller's sessions.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ApprovalSchema, DecideInputSchema, ListApprovalsQuerySchema } from "../../approval";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";

const ApprovalParams = z.object({ id: z.string().min(1).max(100).describe("Approval id (apr_…).") });
const errors = {
  400: ErrorResponseSchema,
  401: ErrorResponseSchema,
  403: ErrorResponseSchema,
  404: ErrorResponseSchema,
  409: ErrorResponseSchema,
};

export const approvalRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { sessions }) => {
  app.get(
    "/approvals",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "approval.list",
        tags: ["approvals"],
        summary: "Pending and recent approvals of the sessions you may read, newest first.",
        querystring: ListApprovalsQuerySchema,
        response: { 200: z.object({ items: z.array(ApprovalSchema), nextCursor: z.string().nullable() }), ...errors },
      },
    },
    async (req) => sessions.approvals(req.query, callerOf(req)),
  );

  app.get(
    "/approvals/:id",
    {
      config: { permission: "session.read" },
      schema: {
        operationId: "approval.get",
        tags: ["approvals"],
        summary: "One approval.",
        params: ApprovalParams,
        response: { 200: ApprovalSchema, ...errors },
      },
    },
    async (req) => sessions.approval(req.params.id, callerOf(req)),
  );

  app.post(
    "/approvals/:id",
    {
      config: { permission: "session.control" },
      schema: {
        operationId: "approval.decide",
        tags: ["approvals"],
        summary: "Decide a pending tool call: allow_once, allow_always, reject_once or reject_always.",
        params: ApprovalParams,
        body: DecideInputSchema,
        response: { 200: ApprovalSchema, ...errors },
      },
    },
    async (req) => sessions.decideApproval(req.params.id, req.body, callerOf(req)),
  );
};
