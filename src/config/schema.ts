// The server's configuration: one zod schema, read from a YAML file and AEGIS_* variables.
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

export const PermissionModeSchema = z.enum(["default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto"]);

/** A spending limit enforced by the model gateway: USD (priced requests) and/or tokens of every kind. */
export const BudgetLimitSchema = z
  .strictObject({ usd: z.number().positive().optional(), tokens: z.number().int().positive().optional() })
  .refine((b) => b.usd !== undefined || b.tokens !== undefined, "set usd, tokens or both");

/** Node's timers hold at most 2^31 − 1 ms (about 24.8 days): a longer delay fires at once, every time. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const timerMs = () =>
  z
    .number()
    .int()
    .positive()
    .max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (about 24 days): Node's timers fire at once past that`);
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
const timerSeconds = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(
      MAX_TIMER_SECONDS,
      `at most ${MAX_TIMER_SECONDS} seconds (about 24 days): Node's timers fire at once past that`,
    );

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
      startTimeoutMs: timerMs().default(60_000),
      /** On shutdown, how long to wait for Claude Code processes to exit. */
      shutdownGraceMs: timerMs().default(5_000),
      /** After a restart with Claude Code unavailable, how often to check for it before resuming sessions. */
      recheckMs: timerMs().default(10_000),
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
      /**
       * A message's first text delta goes out at once; later ones are merged and go out at most this
       * often (and always before the event that follows them). 0 sends every delta as it comes.
       */
      deltaIntervalMs: z.number().int().min(0).max(1000).default(50),
    })
    .prefault({}),
  transcript: z
    .strictObject({
      /** Strings in a transcript item are kept in full up to this many characters. */
      maxItemChars: z.number().int().min(1024).default(1_000_000),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** Turning auth off is allowed only on a loopback address. */
      enabled: z.boolean().default(true),
      /** An admin bearer token for automation (AEGIS_AUTH_TOKEN); never stored. */
      token: z.string().min(24, "use at least 24 characters").optional(),
      sseTokenTtlSeconds: z.number().int().min(1).max(60).default(60),
      /** Failed authentications per client address per minute before 429. */
      maxFailuresPerMinute: z.number().int().positive().default(10),
      /** Requests per API key per minute, unless the key sets its own. */
      requestsPerMinute: z.number().int().positive().default(1200),
      tenants: z
        .record(
          z.string(),
          z.strictObject({
            shareSessions: z.boolean().default(false),
            maxConcurrentSessions: z.number().int().positive().optional(),
          }),
        )
        .default({}),
    })
    .prefault({}),
  limits: z
    .strictObject({
      bodyLimitBytes: z
        .number()
        .int()
        .min(1024)
        .default(2 * 1024 * 1024),
      concurrentSessionsPerKey: z.number().int().positive().default(20),
      concurrentSessionsPerTenant: z.number().int().positive().default(100),
      sseConnectionsPerKey: z.number().int().positive().default(20),
      sseConnectionsPerIp: z.number().int().positive().default(50),
      sseConnectionsTotal: z.number().int().positive().default(500),
    })
    .prefault({}),
  security: z
    .strictObject({
      /** Sessions may only work inside these directories (after resolving symlinks). */
      allowedWorkDirs: z.array(z.string().min(1)).default([homedir()]),
      /** Extra environment variable names (or NAME* prefixes) sessions may not set. */
      envDenylist: z.array(z.string().min(1)).default([]),
      /** Origins allowed by CORS; empty means CORS stays off. */
      corsOrigins: z.array(z.string().url()).default([]),
    })
    .prefault({}),
  hooks: z
    .strictObject({
      /** The timeout `ag hooks install` writes for each hook, in seconds. */
      timeoutSeconds: z.number().int().min(5).max(3600).default(120),
      /** Largest hook body accepted, in bytes. */
      bodyLimitBytes: z
        .number()
        .int()
        .min(1024)
        .default(1024 * 1024),
    })
    .prefault({}),
  policies: z
    .strictObject({
      /** The server's default tool policy (rules, default, approvalTimeoutSeconds); PUT /v1/policies/default replaces it. */
      default: z.unknown().optional(),
    })
    .prefault({}),
  breaker: z
    .strictObject({
      /** Trip after the same tool call fails or is denied this many times in a row (0: off). */
      maxRepeats: z.number().int().min(0).default(5),
    })
    .prefault({}),
  approvals: z
    .strictObject({
      /** Deny a tool call nobody decided within this many seconds (0: wait for ever); a policy rule may set its own. */
      timeoutSeconds: timerSeconds(0).default(0),
      /** Emit approval.waited when an approval has waited this long (0: never). */
      waitWarningSeconds: timerSeconds(0).default(300),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /** Ed25519 private key that signs checkpoints; created on first start. Default <dataDir>/audit-signing.key */
      signingKeyPath: z.string().min(1).optional(),
      /** Signed checkpoints are copied here, outside the database. Default <dataDir>/audit-checkpoints.ndjson */
      anchorFile: z.string().min(1).optional(),
      checkpointEveryRecords: z.number().int().positive().default(100),
      checkpointEverySeconds: timerSeconds(1).default(60),
    })
    .prefault({}),
  sse: z
    .strictObject({
      heartbeatMs: timerMs().default(15_000),
      /** Events buffered per client before a slow client is disconnected. */
      queueLimit: z.number().int().positive().default(1000),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /** A bearer token that may read GET /metrics and GET /v1/ready, nothing else (AEGIS_METRICS__TOKEN); never stored. */
      token: z.string().min(24, "use at least 24 characters").optional(),
    })
    .prefault({}),
  telemetry: z
    .strictObject({
      /** Export OpenTelemetry traces (HTTP requests, turns, tool calls, model requests) over OTLP/HTTP. */
      enabled: z.boolean().default(false),
      /** The collector's OTLP/HTTP traces URL; a bare origin gets /v1/traces appended. */
      endpoint: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:4318/v1/traces"),
      /** Sent with every export, e.g. an authorization header for a hosted collector. */
      headers: z.record(z.string(), z.string()).default({}),
      /** Fraction of traces kept (0 to 1); child spans follow their root's decision. */
      sampleRatio: z.number().min(0).max(1).default(1),
      serviceName: z.string().min(1).default("aegis"),
    })
    .prefault({}),
  gateway: z
    .strictObject({
      /** Route each managed session's model requests through Aegis: metering, budgets, rate-limit tracking. */
      enabled: z.boolean().default(true),
      /** Where the gateway forwards; unset values come from runtime.env, then the server's environment. */
      upstream: z
        .strictObject({
          /** Default ANTHROPIC_BASE_URL, else https://api.anthropic.com. */
          baseUrl: z.url({ protocol: /^https?$/ }).optional(),
          /** Sent upstream as x-api-key. Default ANTHROPIC_API_KEY. */
          apiKey: z.string().min(1).optional(),
          /** Sent upstream as Authorization: Bearer. Default ANTHROPIC_AUTH_TOKEN. */
          authToken: z.string().min(1).optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  budgets: z
    .strictObject({
      /** What key and tenant budgets count: this UTC day, this UTC month, or the last N seconds. */
      window: z.union([z.enum(["day", "month"]), z.number().int().positive()]).default("day"),
      /** Every session's limit over its whole life. */
      session: BudgetLimitSchema.optional(),
      /** By API key id (the key that started the session); "*" applies to keys without an entry. */
      keys: z.record(z.string(), BudgetLimitSchema).default({}),
      /** By tenant; "*" applies to tenants without an entry. */
      tenants: z.record(z.string(), BudgetLimitSchema).default({}),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
