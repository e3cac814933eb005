// Approval events.
import { z } from "zod";
import { defineEvent } from "../core/events";
import { ApprovalStatusSchema } from "./schema";

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
    message: z.string().nullable(),
    waitMs: z.number(),
  }),
);
