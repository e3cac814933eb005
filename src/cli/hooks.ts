// `ag hooks install [dir]` / `ag hooks uninstall [dir]`: put a Claude Code project under Aegis.
import { resolve } from "node:path";
import { CLIENT_ENV } from "../config/load";
import { CreatedInstallationSchema, checkHooksFile, HOOK_SECRET_ENV, installHooks, uninstallHooks } from "../hooks";

export interface HookFlags {
  server: string;
  key?: string;
  /** Seconds; the server's hooks.timeoutSeconds when absent. */
  timeout?: number;
}

export async function hooksInstallCommand(dir: string | undefined, flags: HookFlags): Promise<void> {
  const project = resolve(dir ?? ".");
  const key = flags.key ?? process.env[CLIENT_ENV.apiKey];
  if (!key) throw new Error("an API key is needed: pass --key or set AEGIS_API_KEY (operator or admin)");
  if (flags.timeout !== undefined && !(Number.isInteger(flags.timeout) && flags.timeout >= 1 && flags.timeout <= 3600))
    throw new Error("--timeout must be a whole number of seconds from 1 to 3600");
  const server = flags.server.replace(/\/$/, "");
  if (!URL.canParse(server) || !/^https?:$/.test(new URL(server).protocol))
    throw new Error(`--server must be the server's http:// or https:// address, such as http://127.0.0.1:9100`);
  // Before the server registers anything: a file we cannot edit must not leave an installation behind.
  checkHooksFile(project);
  const res = await fetch(`${server}/v1/hooks/installations`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: project }),
  }).catch((err: Error & { cause?: Error }) => {
    throw new Error(
      `cannot reach the Aegis server at ${server} (${err.cause?.message ?? err.message}); check --server`,
    );
  });
  const json = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  const created = CreatedInstallationSchema.safeParse(json);
  if (json?.error?.message) throw new Error(`the server refused: ${json.error.message}`);
  if (!res.ok || !created.success)
    throw new Error(`${server} did not answer as an Aegis server does (HTTP ${res.status}); check --server`);
  const body = created.data;
  // The file also tells the server this timeout (a header), so a held permission request is answered before it.
  const timeoutSeconds = flags.timeout ?? body.timeoutSeconds;
  const file = installHooks(project, { serverUrl: flags.server, timeoutSeconds });
  process.stdout.write(
    `Installed Aegis hooks in ${file} (installation ${body.id}, timeout ${timeoutSeconds} s).\n` +
      `Claude Code sends the secret from the environment; the file does not hold it. Run claude with:\n` +
      `  export ${HOOK_SECRET_ENV}=${body.secret}\n`,
  );
}

export function hooksUninstallCommand(dir: string | undefined): void {
  const removed = uninstallHooks(resolve(dir ?? "."));
  process.stdout.write(removed ? `Removed ${removed} Aegis hooks.\n` : "No Aegis hooks were installed there.\n");
}
