// Entry point: load config, start the server, stop cleanly on signals.
import { createApp } from "./app";
import { ConfigError, loadConfig } from "./config/load";
import { createLogger } from "./core/log";

export async function main(opts: { configFile?: string; overrides?: Record<string, unknown> } = {}): Promise<void> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig({ file: opts.configFile, overrides: opts.overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`aegis: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { config } = loaded;
  const logger = createLogger(config.logLevel);
  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp({ config, logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`aegis: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const first = config.auth.enabled ? await app.auth.bootstrap() : undefined;
  const check = await app.runtime.check();
  const address = await app.listen();
  const lines = [
    `Aegis listening on ${address}`,
    `  dashboard & API docs: ${address}/docs`,
    `  data directory:       ${config.dataDir}`,
    `  config file:          ${loaded.file ?? "(none; defaults and AEGIS_* environment)"}`,
    `  Claude Code:          ${check.ok ? `${check.version} (${check.path})` : `NOT AVAILABLE: ${check.error}`}`,
  ];
  if (!config.auth.enabled) lines.push("  auth:                 DISABLED (loopback only)");
  if (first) {
    lines.push(
      "",
      "  First start: created an admin API key. It is shown only this once; store it now:",
      `    ${first.token}`,
      "  Use it as `Authorization: Bearer <key>`.",
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down; live sessions will resume on the next start");
    await app.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`aegis: failed to start: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
