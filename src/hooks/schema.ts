// Claude Code hook calls and hook installations.
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { CLIENT_ENV } from "../config/load";
import { idSchema } from "../core/ids";
import { wholeNumber } from "../core/whole-number";

/** The hook events `ag hooks install` subscribes to. */
export const HookEventSchema = z.enum([
  "PreToolUse",
  "PostToolUse",
  "PostToolUseFailure",
  "PermissionRequest",
  "UserPromptSubmit",
  "Notification",
  "Stop",
  "StopFailure",
  "SubagentStart",
  "SubagentStop",
  "PreCompact",
  "SessionEnd",
]);
export type HookEvent = z.infer<typeof HookEventSchema>;

/** What Claude Code POSTs; fields beyond these pass through untouched. */
export const HookInputSchema = z.looseObject({
  session_id: z.string().min(1).max(200),
  // As Claude Code sends it: absolute. Stored normalised, as the observed session's workDir.
  cwd: z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => isAbsolute(p), "cwd must be an absolute path, as Claude Code sends it")
    .refine((p) => !p.includes("\0"), "cwd must not contain a NUL character")
    .transform((p) => resolve(p)),
  hook_event_name: HookEventSchema,
  transcript_path: z.string().max(4096).optional(),
  permission_mode: z.string().max(50).optional(),
  tool_name: z.string().max(200).optional(),
  tool_input: z.unknown().optional(),
  tool_use_id: z.string().max(200).optional(),
  tool_response: z.unknown().optional(),
  error: z.unknown().optional(),
  prompt: z.string().max(1_000_000).optional(),
  message: z.string().max(100_000).optional(),
  last_assistant_message: z.string().max(1_000_000).optional(),
  reason: z.string().max(1000).optional(),
});
export type HookInput = z.infer<typeof HookInputSchema>;

export const InstallationSchema = z.object({
  id: idSchema("hki"),
  name: z.string(),
  ownerKeyId: z.string(),
  tenant: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type Installation = z.infer<typeof InstallationSchema>;

export const CreateInstallationInputSchema = z.strictObject({
  name: z.string().min(1).max(200).describe("What the hooks are installed in, e.g. the project directory."),
});

export const CreatedInstallationSchema = InstallationSchema.extend({
  secret: z.string().describe("Shown once. Claude Code sends it in the X-Aegis-Hook-Secret header."),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .describe("This server's hook timeout (hooks.timeoutSeconds); `ag hooks install` writes it unless told otherwise."),
});

/** The hook's own timeout, which `ag hooks install` writes beside the secret; the server answers before it. */
export const HookHeadersSchema = z.looseObject({
  "x-aegis-hook-timeout": wholeNumber(1, 3600)
    .optional()
    .describe(
      "The hook's timeout in seconds, as in the settings file: a held PermissionRequest is answered before it.",
    ),
});

export const HOOK_SECRET_HEADER = "x-aegis-hook-secret";
export const HOOK_SECRET_ENV = CLIENT_ENV.hookSecret;
