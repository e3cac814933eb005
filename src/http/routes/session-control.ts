// /v1/sessions/{id}/…: prompts, interrupt, escape and tool-call decisions.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AnswerInputSchema, DecisionInputSchema } from "../../approval";
import { SendMessageInputSchema, SendMessageResultSchema, SessionSchema } from "../../session";
import { callerOf } from "../auth";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";
import { SessionParams } from "./sessions";

const errors = { 400: ErrorResponseSchema, 404: ErrorResponseSchema, 409: ErrorResponseSchema };

export const sessionControlRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { sessions }) => {
  app.post(
    "/sessions/:id/messages",
    {
      config: { permission: "session.control" },
      schema: {
        operationId: "session.message",
        tags: ["sessions"],
        summary: "Send a follow-up prompt; it waits in a queue while a turn runs.",
        params: SessionParams,
        body: SendMessageInputSchema,
        response: { 202: SendMessageResultSchema, ...errors, 429: ErrorResponseSchema },
      },
    },
    async (req, reply) => reply.code(202).send(await sessions.sendMessage(req.params.id, req.body.text, callerOf(req))),
  );

  app.post(
    "/sessions/:id/interrupt",
    {
      config: { permission: "session.control" },
      schema: {
        operationId: "session.interrupt",
        tags: ["sessions"],
        summary: "Stop the running turn; the session stays usable.",
        params: SessionParams,
        response: { 200: SessionSchema, ...errors },
      },
    },
    async (req) => sessions.interrupt(req.params.id, callerOf(req)),
  );

  app.post(
    "/sessions/:id/escape",
    {
      config: { permission: "session.control" },
      schema: {
        operationId: "session.escape",
        tags: ["sessions"],
        summary: "Like Esc in Claude Code: interrupt the turn, cancel pending approvals, drop queued messages.",
        params: SessionParams,
        response: { 200: SessionSchema.extend({ droppedMessages: z.number().int() }), ...errors },
      },
    },
    async (req) => sessions.escape(req.params.id, callerOf(req)),
  );

  app.post(
    "/sessions/:id/answer",
    {
      config: { permission: "session.control" },
      schema: {
        operationId: "session.answer",
        tags: ["approvals"],
        summary: "Answer the question Claude asked (AskUserQuestion); see question.asked events.",
        params: SessionParams,
        body: AnswerInputSchema,
        response: { 200: SessionSchema, ...errors },
      },
    },
    async (req) => sessions.answer(req.params.id, req.body, callerOf(req)),
  );

  for (const [verb, approve] of [
    ["approve", true],
    ["reject", false],
  ] as const) {
    app.post(
      `/sessions/:id/${verb}`,
      {
        config: { permission: "session.control" },
        schema: {
          operationId: `session.${verb}`,
          tags: ["approvals"],
          summary: `${approve ? "Allow" : "Refuse"} the session's pending tool call (the oldest, or approvalId).`,
          params: SessionParams,
          body: DecisionInputSchema.optional(),
          response: { 200: SessionSchema, ...errors },
        },
      },
      async (req) => sessions.decide(req.params.id, approve, req.body ?? {}, callerOf(req)),
    );
  }
};
