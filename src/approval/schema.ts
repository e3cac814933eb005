// Approval records: a tool call waiting for (or given) a human decision.
import { z } from "zod";
import { idSchema } from "../core/ids";
import { wholeNumber } from "../core/whole-number";

export const ApprovalStatusSchema = z.enum(["pending", "approved", "rejected", "cancelled", "expired"]);
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;

export const ApprovalKindSchema = z.enum(["tool", "question"]);

export const DecisionSchema = z.enum(["allow_once", "allow_always", "reject_once", "reject_always"]);
export type Decision = z.infer<typeof DecisionSchema>;

export const ApprovalSchema = z.object({
  id: idSchema("apr"),
  sessionId: idSchema("ses"),
  kind: ApprovalKindSchema.describe("question: Claude asks the user (AskUserQuestion); answer it with /answer."),
  toolUseId: z.string(),
  toolName: z.string(),
  input: z.record(z.string(), z.unknown()),
  status: ApprovalStatusSchema,
  decision: DecisionSchema.nullable(),
  decidedBy: z.string().nullable().describe("API key id of the decider; 'policy' or 'system' for automatic outcomes."),
  message: z.string().nullable(),
  requestedAt: z.string(),
  timeoutAt: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  waitMs: z.number().nullable(),
});
export type Approval = z.infer<typeof ApprovalSchema>;

export const PendingApprovalSchema = ApprovalSchema.pick({
  id: true,
  kind: true,
  toolName: true,
  input: true,
  requestedAt: true,
  timeoutAt: true,
  toolUseId: true,
});
export type PendingApproval = z.infer<typeof PendingApprovalSchema>;

export const DecisionInputSchema = z.strictObject({
  approvalId: idSchema("apr").optional().describe("Which pending tool call to decide; defaults to the oldest."),
  message: z.string().max(10_000).optional().describe("Told to the model with the decision."),
});
export type DecisionInput = z.infer<typeof DecisionInputSchema>;

export const DecideInputSchema = z.strictObject({
  decision: DecisionSchema.describe("allow_always / reject_always also add a rule to the session's policy."),
  message: z.string().max(10_000).optional().describe("Told to the model with the decision."),
  updatedInput: z.record(z.string(), z.unknown()).optional().describe("Run the tool with this input instead."),
});
export type DecideInput = z.infer<typeof DecideInputSchema>;

export const AnswerInputSchema = z.strictObject({
  approvalId: idSchema("apr").optional().describe("Which pending question; defaults to the oldest."),
  answers: z
    .record(z.string().min(1), z.string().max(10_000))
    .refine((a) => Object.keys(a).length > 0, "give at least one answer")
    .describe("Question text -> the chosen option's label (or free text); several labels comma-separated."),
});
export type AnswerInput = z.infer<typeof AnswerInputSchema>;

export const ListApprovalsQuerySchema = z.strictObject({
  sessionId: z.string().min(1).max(100).optional().describe("A session's id or name."),
  tool: z.string().max(200).optional(),
  status: ApprovalStatusSchema.optional(),
  limit: wholeNumber(1, 500).prefault(100),
  cursor: idSchema("apr")
    .optional()
    .describe("nextCursor from the previous page (a cursor this API did not return is refused)."),
});
export type ListApprovalsQuery = z.infer<typeof ListApprovalsQuerySchema>;
