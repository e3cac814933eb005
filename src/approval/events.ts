// Approval events.
import { z } from "zod";
import { defineEvent } from "../core/events";
import { ApprovalStatusSchema, DecisionSchema } from "./schema";

export const ApprovalRequested = defineEvent(
  "approval.requested",
  z.object({
    approvalId: z.string(),
    toolUseId: z.string(),
    toolName: z.string(),
    input: z.unknown(),
  }),
);

export const ApprovalResolved = defineEvent(
  "approval.resolved",
  z.object({
    approvalId: z.string(),
    toolUseId: z.string(),
    toolName: z.string(),
    status: ApprovalStatusSchema,
    decision: DecisionSchema.nullable().optional(),
    decidedBy: z.string().nullable().optional(),
    message: z.string().nullable(),
    waitMs: z.number(),
  }),
);

export const ApprovalWaiting = defineEvent(
  "approval.waited",
  z.object({ approvalId: z.string(), toolName: z.string(), waitedSeconds: z.number() }),
);

export const QuestionAsked = defineEvent(
  "question.asked",
  z.object({ approvalId: z.string(), questions: z.unknown() }),
);
