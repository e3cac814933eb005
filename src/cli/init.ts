// `ag init`: creates the data directory and a config file that documents every key.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/load";

const TEMPLATE = `# Aegis configuration. Every key may also be set as an AEGIS_* environment variable:
# nested keys join with "__", e.g. sse.heartbeatMs -> AEGIS_SSE__HEARTBEAT_MS.
# Unknown keys are refused at startup.

# Address and port to listen on. Keep loopback unless a proxy with TLS sits in front.
host: 127.0.0.1
port: 9100
# logLevel: info            # fatal | error | warn | info | debug | trace | silent
# claudePath: /usr/local/bin/claude   # default: the binary the Agent SDK package installs

runtime:
  # Environment added to every Claude Code process (e.g. ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY).
  env: {}
  disableNonessentialTraffic: true
  startTimeoutMs: 60000
  shutdownGraceMs: 5000

sessions:
  defaultPermissionMode: default   # default | acceptEdits | bypassPermissions | plan | dontAsk | auto
  # defaultModel: claude-sonnet-4-5
  maxQueuedMessages: 100

events:
  maxPayloadChars: 4096     # strings in event payloads are cut to this length, with a marker
transcript:
  maxItemChars: 1000000     # transcript items keep strings whole up to this length
sse:
  heartbeatMs: 15000
  queueLimit: 1000          # events buffered per client before a slow client is dropped
`;

export function initCommand(flags: { force?: boolean }): void {
  const { config } = loadConfig();
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const file = join(config.dataDir, "config.yaml");
  if (existsSync(file) && !flags.force) {
    process.stdout.write(`Config already exists: ${file} (use --force to overwrite)\n`);
    return;
  }
  writeFileSync(file, TEMPLATE, { mode: 0o600 });
  loadConfig({ file }); // the template must always load
  process.stdout.write(`Created ${file}\nStart the server with: ag   (or npm start)\n`);
}
