// Approval records: a tool call waiting for (or given) a human decision.
import { z } from "zod";
import { idSchema } from "../core/ids";

export const ApprovalStatusSchema = z.enum(["pending", "approved", "rejected", "cancelled", "expired"]);
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;

export const ApprovalSchema = z.object({
  id: idSchema("apr"),
  sessionId: idSchema("ses"),
  toolUseId: z.string(),
  toolName: z.string(),
  input: z.record(z.string(), z.unknown()),
  status: ApprovalStatusSchema,
  message: z.string().nullable(),
  requestedAt: z.string(),
  resolvedAt: z.string().nullable(),
  waitMs: z.number().nullable(),
});
export type Approval = z.infer<typeof ApprovalSchema>;

export const PendingApprovalSchema = ApprovalSchema.pick({
  id: true,
  toolName: true,
  input: true,
  requestedAt: true,
  toolUseId: true,
});
export type PendingApproval = z.infer<typeof PendingApprovalSchema>;

export const DecisionInputSchema = z.strictObject({
  approvalId: idSchema("apr").optional().describe("Which pending tool call to decide; defaults to the oldest."),
  message: z.string().max(10_000).optional().describe("Told to the model with the decision."),
});
export type DecisionInput = z.infer<typeof DecisionInputSchema>;
