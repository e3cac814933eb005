// Session entities and inputs: the public contract of /v1/sessions.
import { z } from "zod";
import { PendingApprovalSchema } from "../approval";
import { PermissionModeSchema } from "../config/schema";
import { idSchema } from "../core/ids";
import { wholeNumber } from "../core/whole-number";
import { SessionStatusSchema } from "./status";

/** A prompt: the model API refuses text that is only whitespace, so it is refused here, up front. */
const PromptText = z
  .string()
  .max(1_000_000)
  .refine((t) => /\S/.test(t), "the prompt is empty or only whitespace; send some text");

export const SessionNameSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-', starting with a letter or digit")
  .refine((n) => !n.startsWith("ses_"), "must not start with 'ses_' (reserved for ids)");

/** What goes to Claude Code as a command-line argument or environment value: no NUL (no OS takes one). */
const argString = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes("\0"), "must not contain a NUL character");

const ToolNameList = z.array(argString(200).min(1)).max(200);

export const CreateSessionInputSchema = z.strictObject({
  workDir: z.string().min(1).max(4096).describe("Directory Claude Code works in; must exist on the server."),
  name: SessionNameSchema.optional().describe("Unique among live sessions; usable in place of the id."),
  prompt: PromptText.optional().describe("First prompt; sent as soon as the session is ready."),
  model: argString(200).min(1).optional(),
  permissionMode: PermissionModeSchema.optional(),
  allowedTools: ToolNameList.optional(),
  disallowedTools: ToolNameList.optional(),
  appendSystemPrompt: argString(100_000).optional(),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names use letters, digits and _"),
      argString(32_768),
    )
    .optional()
    .describe("Extra environment variables for the Claude Code process."),
  maxTurns: z.number().int().positive().max(10_000).optional(),
  maxBudgetUsd: z.number().positive().max(1_000_000).optional(),
  resume: z.string().uuid().optional().describe("A Claude Code session id whose conversation this session continues."),
  reuse: z.boolean().optional().describe("Reuse an idle live session in the same workDir (default true)."),
  parentId: idSchema("ses").optional(),
});
export type CreateSessionInput = z.infer<typeof CreateSessionInputSchema>;

/** Options kept with the session so a restarted server can start Claude Code the same way. */
export const SessionOptionsSchema = CreateSessionInputSchema.pick({
  allowedTools: true,
  disallowedTools: true,
  appendSystemPrompt: true,
  env: true,
  maxTurns: true,
  maxBudgetUsd: true,
});
export type SessionOptions = z.infer<typeof SessionOptionsSchema>;

export const SessionTotalsSchema = z.object({
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  costUsd: z.number(),
});

export const SessionErrorSchema = z.object({ code: z.string(), message: z.string() });

export const SessionSchema = z.object({
  id: idSchema("ses"),
  name: z.string().nullable(),
  status: SessionStatusSchema,
  workDir: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  lastActivityAt: z.string(),
  parentId: z.string().nullable(),
  tenant: z.string(),
  ownerKeyId: z.string().nullable().describe("The API key that started the session."),
  kind: z
    .enum(["managed", "observed"])
    .describe("observed: a Claude Code session Aegis did not start, seen through its hooks."),
  attention: z
    .object({ reason: z.string(), since: z.string() })
    .nullable()
    .describe("Set when the circuit breaker tripped; cleared by the next human action."),
  claudeSessionId: z.string(),
  model: z.string().nullable(),
  permissionMode: PermissionModeSchema,
  totals: SessionTotalsSchema,
  pendingApprovals: z.array(PendingApprovalSchema),
  queuedMessages: z.number().int(),
  error: SessionErrorSchema.nullable(),
});
export type Session = z.infer<typeof SessionSchema>;

export const SessionWithReuseSchema = SessionSchema.extend({ reused: z.boolean() });

export const ListSessionsQuerySchema = z.strictObject({
  status: SessionStatusSchema.optional(),
  workDir: z.string().optional(),
  name: z.string().optional(),
  limit: wholeNumber(1, 200).prefault(50),
  cursor: idSchema("ses")
    .optional()
    .describe("nextCursor from the previous page (a cursor this API did not return is refused)."),
});
export type ListSessionsQuery = z.infer<typeof ListSessionsQuerySchema>;

export const UpdateSessionInputSchema = z
  .strictObject({
    permissionMode: PermissionModeSchema.optional().describe(
      "Switch Claude Code's permission mode for the next tool calls.",
    ),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one field to change");
export type UpdateSessionInput = z.infer<typeof UpdateSessionInputSchema>;

export const SendMessageInputSchema = z.strictObject({
  text: PromptText,
});

export const SendMessageResultSchema = z.object({
  queued: z.boolean().describe("True when the message waits behind a running turn."),
  position: z.number().int().describe("Place in the queue; 0 when sent at once."),
});

export const TranscriptItemSchema = z.object({
  id: idSchema("tri"),
  kind: z.enum(["user", "assistant", "tool", "approval", "error"]),
  createdAt: z.string(),
  updatedAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type TranscriptItem = z.infer<typeof TranscriptItemSchema>;

export const PageQuerySchema = z.strictObject({
  limit: wholeNumber(1, 500).prefault(100),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "must be a nextCursor this API returned")
    .optional()
    .describe("nextCursor from the previous page."),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
