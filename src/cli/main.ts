// The `ag` command line: `ag` (or `ag serve`) runs the server; `ag init` prepares the data dir.
import { Command, InvalidArgumentError } from "commander";
import { CLIENT_ENV } from "../config/load";
import { main as serve, startupHint } from "../main";
import { auditVerifyCommand } from "./audit";
import { type HookFlags, hooksInstallCommand, hooksUninstallCommand } from "./hooks";
import { initCommand } from "./init";

const program = new Command()
  .name("ag")
  .description("Aegis: a self-hosted control plane for Claude Code sessions")
  .showHelpAfterError();

/** Digits only: parseInt would read "80abc" as 80. */
const wholeNumber = (what: string) => (v: string) => {
  if (!/^\d{1,9}$/.test(v.trim())) throw new InvalidArgumentError(`give ${what} as a whole number.`);
  return Number(v);
};

const serveOptions = (cmd: Command) =>
  cmd
    .option("-c, --config <file>", "config file (YAML); default $AEGIS_HOME/config.yaml")
    .option("--host <host>", "address to bind (default 127.0.0.1)")
    .option("-p, --port <port>", "port to listen on (default 9100)", wholeNumber("the port"));

type ServeFlags = { config?: string; host?: string; port?: number };
const runServe = (flags: ServeFlags) =>
  serve({
    ...(flags.config ? { configFile: flags.config } : {}),
    overrides: {
      ...(flags.host !== undefined ? { host: flags.host } : {}),
      ...(flags.port !== undefined ? { port: flags.port } : {}),
    },
  }).catch((err: unknown) => {
    const hint = startupHint(err);
    if (!hint) throw err;
    process.stderr.write(`ag: failed to start: ${hint}\n`);
    process.exit(2);
  });

serveOptions(program).action((flags: ServeFlags) => runServe(flags));
// Without positional options the root would take `serve --port …` for itself; either place works.
serveOptions(program.command("serve").description("run the Aegis server (the default command)")).action(
  (flags: ServeFlags) => runServe({ ...program.opts<ServeFlags>(), ...flags }),
);
program
  .command("init")
  .description("create the data directory and a commented config file")
  .option("--force", "overwrite an existing config file")
  .action((flags: { force?: boolean }) => initCommand(flags));

const hooks = program.command("hooks").description("govern Claude Code sessions that Aegis did not start");
hooks
  .command("install")
  .description("write HTTP hooks into <dir>/.claude/settings.local.json that report to this Aegis server")
  .argument("[dir]", "the project directory", ".")
  .option("--server <url>", "the Aegis server", process.env[CLIENT_ENV.url] ?? "http://127.0.0.1:9100")
  .option("--key <key>", "an operator or admin API key (default $AEGIS_API_KEY)")
  .option(
    "--timeout <seconds>",
    "hook timeout (default: the server's hooks.timeoutSeconds); permission requests are held until just before it",
    wholeNumber("the timeout in seconds"),
  )
  .action((dir: string, flags: HookFlags) => hooksInstallCommand(dir, flags));
hooks
  .command("uninstall")
  .description("remove exactly the hooks `ag hooks install` added")
  .argument("[dir]", "the project directory", ".")
  .action((dir: string) => hooksUninstallCommand(dir));

const audit = program.command("audit").description("the tamper-evident audit trail");
audit
  .command("verify")
  .description("verify an NDJSON export (GET /v1/audit?format=ndjson) offline")
  .argument("<file>", "the exported NDJSON file")
  .requiredOption("--public-key <file>", "the audit signing public key (PEM; <dataDir>/audit-signing.key.pub)")
  .option("--checkpoints <file>", "checkpoints kept elsewhere (NDJSON, e.g. a copy of audit-checkpoints.ndjson)")
  .action((file: string, flags: { publicKey: string; checkpoints?: string }) => auditVerifyCommand(file, flags));

program.parseAsync().catch((err: Error) => {
  process.stderr.write(`ag: ${err.message}\n`);
  process.exit(1);
});
