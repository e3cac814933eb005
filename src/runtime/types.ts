// The runtime contract: how Aegis drives one Claude Code conversation, independent of the transport
// (Agent SDK today; an ACP runtime can sit beside it).
import type { z } from "zod";
import type { PermissionModeSchema } from "../config/schema";

export type PermissionMode = z.infer<typeof PermissionModeSchema>;

export interface RuntimeStartOptions {
  claudeSessionId: string;
  /** Continue the stored conversation `claudeSessionId` instead of starting it. */
  resume: boolean;
  workDir: string;
  model?: string | undefined;
  permissionMode: PermissionMode;
  allowedTools?: string[] | undefined;
  disallowedTools?: string[] | undefined;
  appendSystemPrompt?: string | undefined;
  env?: Record<string, string> | undefined;
  /** Variables of the server's environment the process must not inherit (e.g. credentials behind the gateway). */
  unsetEnv?: readonly string[] | undefined;
  /**
   * Variables that Claude Code's settings files (the workDir's `.claude/settings.json` and the
   * like) must not override, such as the model gateway's endpoint. They are passed as flag
   * settings, on Claude Code's command line, which other local users can read: never a secret
   * (a token a settings file puts in place of the gateway's only fails at the gateway).
   */
  pinnedEnv?: Record<string, string> | undefined;
  maxTurns?: number | undefined;
  maxBudgetUsd?: number | undefined;
  /** Asked for every tool call that Claude Code's permission mode does not already allow. */
  onPermission: (request: PermissionRequest) => Promise<PermissionDecision>;
  /**
   * Asked before every tool call, whatever the permission mode or allowedTools say (a PreToolUse
   * hook): a `deny` stops the call there. Nothing else is decided here; onPermission still runs.
   */
  onPreToolUse?: ((call: ToolCall) => Promise<{ deny: string } | null>) | undefined;
}

export interface ToolCall {
  toolUseId: string;
  toolName: string;
  input: Record<string, unknown>;
}

export interface PermissionRequest extends ToolCall {
  signal: AbortSignal;
}

export type PermissionDecision =
  | { behavior: "allow"; updatedInput?: Record<string, unknown> | undefined }
  | { behavior: "deny"; message: string; interrupt?: boolean | undefined };

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** One model's share of a turn. */
export interface ModelUsage extends TokenUsage {
  costUsd: number;
}

export type RuntimeEvent =
  | { type: "init"; claudeSessionId: string; model: string; version: string }
  | { type: "message_started"; messageId: string }
  /** One model API request answered in full (its usage is that request's alone). */
  | { type: "message_finished"; messageId: string; model: string; stopReason: string | null; usage: TokenUsage }
  | { type: "text_delta"; messageId: string; text: string }
  | { type: "assistant_text"; messageId: string; text: string }
  | { type: "tool_use"; toolUseId: string; name: string; input: Record<string, unknown> }
  | { type: "tool_result"; toolUseId: string; output: string; isError: boolean }
  | { type: "api_retry"; attempt: number; maxRetries: number; status: number | null; error: string }
  | { type: "api_error"; error: string; text: string }
  | {
      type: "turn_result";
      ok: boolean;
      subtype: string;
      text: string;
      errors: string[];
      usage: TokenUsage;
      costUsd: number;
      modelUsage: Record<string, unknown>;
      /** The turn's usage per model (a turn may call more than one). */
      usageByModel: Record<string, ModelUsage>;
      durationMs: number;
      durationApiMs: number;
      apiErrorStatus: number | null;
    }
  | { type: "exited"; error?: string | undefined };

export interface RuntimeHandle {
  /** Every runtime event, in order; ends after `exited`. */
  readonly events: AsyncIterable<RuntimeEvent> & {
    /** Takes events already buffered at the front that satisfy `pred` (used to merge text deltas). */
    takeWhile?<S extends RuntimeEvent>(pred: (e: RuntimeEvent) => e is S): S[];
  };
  /** Resolves once Claude Code has started and accepted the session's options. */
  ready(): Promise<void>;
  send(text: string): void;
  interrupt(): Promise<void>;
  setPermissionMode(mode: PermissionMode): Promise<void>;
  /** Ends the Claude Code process; the conversation stays resumable. */
  close(): Promise<void>;
}

export interface RuntimeCheck {
  ok: boolean;
  path: string;
  version?: string | undefined;
  error?: string | undefined;
}

export interface Runtime {
  readonly name: string;
  check(): Promise<RuntimeCheck>;
  start(options: RuntimeStartOptions): RuntimeHandle;
}
