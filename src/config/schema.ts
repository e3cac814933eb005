// The server's configuration: one zod schema, read from a YAML file and AEGIS_* variables.
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

export const PermissionModeSchema = z.enum(["default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto"]);

export const ConfigSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(9100),
  dataDir: z.string().min(1).default(join(homedir(), ".aegis")),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Where the Claude Code binary lives; defaults to the one the Agent SDK package installs. */
  claudePath: z.string().min(1).optional(),
  runtime: z
    .strictObject({
      /** Extra environment for every Claude Code process (e.g. ANTHROPIC_BASE_URL). */
      env: z.record(z.string(), z.string()).default({}),
      /** Keep Claude Code from contacting anything but the model API. */
      disableNonessentialTraffic: z.boolean().default(true),
      /** How long a session may take to become ready before it is marked failed. */
      startTimeoutMs: z.number().int().positive().default(60_000),
      /** On shutdown, how long to wait for Claude Code processes to exit. */
      shutdownGraceMs: z.number().int().positive().default(5_000),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      defaultPermissionMode: PermissionModeSchema.default("default"),
      defaultModel: z.string().min(1).optional(),
      /** Follow-up prompts queued behind a running turn, per session. */
      maxQueuedMessages: z.number().int().positive().default(100),
    })
    .prefault({}),
  events: z
    .strictObject({
      /** Strings in event payloads (tool output, inputs) are cut to this many characters. */
      maxPayloadChars: z.number().int().min(256).default(4096),
    })
    .prefault({}),
  transcript: z
    .strictObject({
      /** Strings in a transcript item are kept in full up to this many characters. */
      maxItemChars: z.number().int().min(1024).default(1_000_000),
    })
    .prefault({}),
  sse: z
    .strictObject({
      heartbeatMs: z.number().int().positive().default(15_000),
      /** Events buffered per client before a slow client is disconnected. */
      queueLimit: z.number().int().positive().default(1000),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
