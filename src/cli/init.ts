// `ag init`: creates the data directory and a config file that documents every key.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../app";
import { loadConfig } from "../config/load";
import { createLogger } from "../core/log";

/**
 * The config file `ag init` writes: every key of src/config/schema.ts, active with its default or
 * commented out (`# key: example`) where it has none. init.test.ts fails when the two drift apart.
 */
export const CONFIG_TEMPLATE = `# Aegis configuration. Every key may also be set as an AEGIS_* environment variable:
# nested keys join with "__", e.g. sse.heartbeatMs -> AEGIS_SSE__HEARTBEAT_MS.
# Unknown keys are refused at startup. Keys shown commented out have no default.

# Address and port to listen on. Keep loopback unless a proxy with TLS sits in front.
host: 127.0.0.1
port: 9100
# dataDir: /var/lib/aegis   # database, keys and this file; default AEGIS_HOME, else ~/.aegis
logLevel: info              # fatal | error | warn | info | debug | trace | silent
# claudePath: /usr/local/bin/claude   # default: the binary the Agent SDK package installs

runtime:
  # Environment added to every Claude Code process (e.g. ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY).
  env: {}
  disableNonessentialTraffic: true   # Claude Code contacts nothing but the model API
  startTimeoutMs: 60000     # a session not ready by then is marked failed
  shutdownGraceMs: 5000     # on shutdown, how long Claude Code processes get to exit
  recheckMs: 10000          # started while Claude Code is unavailable: how often to look for it

sessions:
  defaultPermissionMode: default   # default | acceptEdits | bypassPermissions | plan | dontAsk | auto
  # defaultModel: claude-sonnet-4-5
  maxQueuedMessages: 100    # follow-up prompts queued behind a running turn, per session

events:
  maxPayloadChars: 4096     # strings in event payloads are cut to this length, with a marker
  deltaIntervalMs: 50       # later text deltas of a message are merged to one per interval (0: every delta)
transcript:
  maxItemChars: 1000000     # transcript items keep strings whole up to this length

auth:
  enabled: true             # turning auth off is allowed only when host is a loopback address
  # token: ...              # an admin token for automation; prefer the AEGIS_AUTH_TOKEN variable
  sseTokenTtlSeconds: 60
  maxFailuresPerMinute: 10  # failed authentications per client address before 429
  requestsPerMinute: 1200   # per API key, unless the key sets its own rate
  tenants: {}               # e.g. {team-a: {shareSessions: true, maxConcurrentSessions: 10}}

limits:
  bodyLimitBytes: 2097152
  concurrentSessionsPerKey: 20
  concurrentSessionsPerTenant: 100
  sseConnectionsPerKey: 20
  sseConnectionsPerIp: 50
  sseConnectionsTotal: 500

security:
  # allowedWorkDirs: [/srv/projects]   # sessions may work only inside these (default: your home directory)
  envDenylist: []           # extra variable names (or PREFIX_*) sessions may not set
  corsOrigins: []           # CORS stays off unless origins are listed

# Claude Code projects put under Aegis with \`ag hooks install\`.
hooks:
  timeoutSeconds: 120       # the timeout written for each hook; held permission requests are answered before it
  bodyLimitBytes: 1048576   # largest hook body accepted

# The server's default tool policy (rules, default, approvalTimeoutSeconds); PUT /v1/policies/default replaces it.
# policies:
#   default: {default: ask, rules: [{tool: Read, decision: allow, reason: reading is fine}]}

breaker:
  maxRepeats: 5             # interrupt a session after the same tool call fails or is denied this often in a row (0: off)

approvals:
  timeoutSeconds: 0         # deny a tool call nobody decided within this many seconds (0: wait for ever)
  waitWarningSeconds: 300   # emit approval.waited once an approval has waited this long (0: never)

# The tamper-evident audit trail: signed checkpoints, also copied outside the database.
audit:
  # signingKeyPath: /etc/aegis/audit-signing.key        # default <dataDir>/audit-signing.key, created on first start
  # anchorFile: /var/log/aegis/audit-checkpoints.ndjson # default <dataDir>/audit-checkpoints.ndjson
  checkpointEveryRecords: 100
  checkpointEverySeconds: 60

sse:
  heartbeatMs: 15000
  queueLimit: 1000          # events buffered per client before a slow client is dropped

# GET /metrics (Prometheus) and GET /v1/ready answer keys with metrics.read (viewer and up) and this token.
# metrics:
#   token: ...              # a scraper token good for /metrics and /v1/ready only; prefer AEGIS_METRICS__TOKEN

# OpenTelemetry traces over OTLP/HTTP: HTTP requests, turns, tool calls and model requests.
telemetry:
  enabled: false
  endpoint: http://127.0.0.1:4318/v1/traces   # a bare origin gets /v1/traces
  headers: {}               # sent with every export, e.g. {authorization: "Bearer ..."}
  sampleRatio: 1            # fraction of traces kept, 0 to 1
  serviceName: aegis

# The model gateway: each session's Claude Code talks to the model API through Aegis, which meters
# every request, keeps the rate-limit headers and enforces budgets. Claude Code gets a per-session
# token; the upstream credentials stay here (default: ANTHROPIC_* from runtime.env or the environment).
gateway:
  enabled: true
  # upstream:
  #   baseUrl: https://api.anthropic.com   # default ANTHROPIC_BASE_URL, else https://api.anthropic.com
  #   apiKey: ...                          # sent as x-api-key; default ANTHROPIC_API_KEY
  #   authToken: ...                       # sent as Authorization: Bearer; default ANTHROPIC_AUTH_TOKEN

# Budgets (need the gateway). A request past one is refused and the session becomes budget_exceeded.
budgets:
  window: day               # key and tenant budgets count this UTC day, month, or the last N seconds
  # session: {usd: 5, tokens: 2000000}   # every session, over its whole life
  keys: {}                  # by API key id, "*" for every other key, e.g. {"*": {usd: 20, tokens: 5000000}}
  tenants: {}               # by tenant, "*" for every other tenant
`;

export async function initCommand(flags: { force?: boolean }): Promise<void> {
  const { config: before } = loadConfig();
  mkdirSync(before.dataDir, { recursive: true, mode: 0o700 });
  const file = join(before.dataDir, "config.yaml");
  if (existsSync(file) && !flags.force) {
    process.stdout.write(`Config already exists: ${file} (use --force to overwrite)\n`);
  } else {
    writeFileSync(file, CONFIG_TEMPLATE, { mode: 0o600 });
    process.stdout.write(`Created ${file}\n`);
  }
  const { config } = loadConfig();
  const app = await createApp({ config, logger: createLogger("warn") });
  try {
    const first = config.auth.enabled ? await app.auth.bootstrap() : undefined;
    if (first) {
      process.stdout.write(
        `Created an admin API key. It is shown only this once; store it now:\n  ${first.token}\n` +
          "Send it as `Authorization: Bearer <key>`.\n",
      );
    } else {
      process.stdout.write("API keys already exist (or AEGIS_AUTH_TOKEN is set); none created.\n");
    }
  } finally {
    await app.close();
  }
  process.stdout.write("Start the server with: ag   (or npm start)\n");
}
