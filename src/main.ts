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

/** What to fix, for the start-up failures the operator's settings cause; undefined for anything else. */
export function startupHint(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  const where = e?.path ? ` (${e.path})` : "";
  switch (e?.code) {
    case "EADDRINUSE":
      return `cannot listen on ${e.address}:${e.port}: something else listens there; stop it or choose another \`port\` (AEGIS_PORT, --port).`;
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
      return `cannot listen on host ${e.hostname ?? e.address}: give an address of this machine as \`host\` (AEGIS_HOST, --host).`;
    case "EACCES":
    case "EPERM":
      return e.syscall === "listen"
        ? `not allowed to listen on ${e.address}:${e.port}: ports below 1024 need privileges; choose another \`port\`.`
        : `permission denied${where}: check \`dataDir\` (AEGIS_HOME) and the file paths under \`audit\`.`;
    case "EEXIST":
    case "ENOTDIR":
    case "EISDIR":
    case "ENOENT":
      return `${e.code === "EISDIR" ? "a directory where a file belongs" : "a file where a directory belongs, or a missing parent"}${where}: check \`dataDir\` (AEGIS_HOME) and the file paths under \`audit\`.`;
    default:
      return undefined;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    const hint = startupHint(err);
    process.stderr.write(`aegis: failed to start: ${hint ?? (err as Error).stack ?? err}\n`);
    process.exit(hint ? 2 : 1);
  });
}
