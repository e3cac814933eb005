// `ag hooks install [dir]` / `ag hooks uninstall [dir]`: put a Claude Code project under Aegis.
import { resolve } from "node:path";
import { HOOK_SECRET_ENV, installHooks, uninstallHooks } from "../hooks";

export interface HookFlags {
  server: string;
  key?: string;
  timeout: number;
}

export async function hooksInstallCommand(dir: string | undefined, flags: HookFlags): Promise<void> {
  const project = resolve(dir ?? ".");
  const key = flags.key ?? process.env.AEGIS_API_KEY;
  if (!key) throw new Error("an API key is needed: pass --key or set AEGIS_API_KEY (operator or admin)");
  const res = await fetch(`${flags.server.replace(/\/$/, "")}/v1/hooks/installations`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: project }),
  });
  const body = (await res.json()) as { id?: string; secret?: string; error?: { message: string } };
  if (!res.ok || !body.secret) throw new Error(`the server refused: ${body.error?.message ?? res.status}`);
  const file = installHooks(project, { serverUrl: flags.server, timeoutSeconds: flags.timeout });
  process.stdout.write(
    `Installed Aegis hooks in ${file} (installation ${body.id}).\n` +
      `Claude Code sends the secret from the environment; the file does not hold it. Run claude with:\n` +
      `  export ${HOOK_SECRET_ENV}=${body.secret}\n`,
  );
}

export function hooksUninstallCommand(dir: string | undefined): void {
  const removed = uninstallHooks(resolve(dir ?? "."));
  process.stdout.write(removed ? `Removed ${removed} Aegis hooks.\n` : "No Aegis hooks were installed there.\n");
}
