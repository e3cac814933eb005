// Input hardening for new sessions: where they may work and which environment they may set.
import { realpath, stat } from "node:fs/promises";
import { sep } from "node:path";
import type { Principal, SessionOwnership } from "../auth";
import type { SessionContext } from "./context";
import { SessionErrors } from "./errors";
import { sessionStore } from "./store";

/**
 * Variables a caller may not set for Claude Code: loader and interpreter hooks, credentials,
 * where the model API is and how Claude Code is configured, and proxies that could exfiltrate.
 * An entry ending in `*` is a prefix.
 */
export const ENV_DENYLIST = [
  "PATH",
  "HOME",
  "SHELL",
  "ENV",
  "BASH_ENV",
  "IFS",
  "LD_*",
  "DYLD_*",
  "NODE_*",
  "NPM_CONFIG_*",
  "PYTHONPATH",
  "PYTHONSTARTUP",
  "PYTHONHOME",
  "PERL5LIB",
  "PERL5OPT",
  "RUBYOPT",
  "RUBYLIB",
  "GIT_*",
  "SSH_*",
  "ANTHROPIC_*",
  "CLAUDE_*",
  "IS_SANDBOX",
  "AEGIS_*",
  "AWS_*",
  "GOOGLE_*",
  "GCLOUD_*",
  "AZURE_*",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "OTEL_*",
];

export function deniedEnvName(name: string, extra: readonly string[]): string | undefined {
  const upper = name.toUpperCase();
  return [...ENV_DENYLIST, ...extra].find((rule) =>
    rule.endsWith("*") ? upper.startsWith(rule.slice(0, -1).toUpperCase()) : upper === rule.toUpperCase(),
  );
}

export function checkEnv(env: Record<string, string> | undefined, extra: readonly string[]): void {
  for (const name of Object.keys(env ?? {})) {
    const rule = deniedEnvName(name, extra);
    if (rule) {
      throw SessionErrors.envNotAllowed({
        message: `Environment variable ${name} may not be set for a session (denied by rule ${rule}); remove it from env.`,
        details: { variable: name, rule },
      });
    }
  }
}

/** The real path of `dir`, which must be an existing directory inside one of `allowed`. */
export async function checkWorkDir(dir: string, allowed: readonly string[]): Promise<string> {
  let resolved: string;
  try {
    resolved = await realpath(dir);
    if (!(await stat(resolved)).isDirectory()) throw new Error("not a directory");
  } catch {
    throw SessionErrors.workDirNotFound({
      message: `workDir ${JSON.stringify(dir)} is not an existing directory on the server.`,
      details: { workDir: dir },
    });
  }
  // An allowed root that does not exist matches nothing.
  const roots = await Promise.all(allowed.map((a) => realpath(a).catch(() => undefined)));
  const inside = roots.some(
    (root) => root !== undefined && (resolved === root || resolved.startsWith(root.endsWith(sep) ? root : root + sep)),
  );
  if (!inside) {
    throw SessionErrors.workDirNotAllowed({
      message: `workDir ${JSON.stringify(dir)} resolves to ${resolved}, outside the allowed directories (security.allowedWorkDirs).`,
      details: { workDir: dir, resolved },
    });
  }
  return resolved;
}

/** Live sessions per API key and per tenant stay within the configured limits. */
export async function checkLimits(ctx: SessionContext, p: Pick<Principal, "keyId" | "tenant">): Promise<void> {
  const { limits, auth } = ctx.config;
  if ((await sessionStore.countLive(ctx.db, { ownerKeyId: p.keyId })) >= limits.concurrentSessionsPerKey) {
    throw SessionErrors.tooManySessions({
      message: `This API key already has ${limits.concurrentSessionsPerKey} live sessions (limits.concurrentSessionsPerKey); kill one first.`,
    });
  }
  const tenantMax = auth.tenants[p.tenant]?.maxConcurrentSessions ?? limits.concurrentSessionsPerTenant;
  if ((await sessionStore.countLive(ctx.db, { tenant: p.tenant })) >= tenantMax) {
    throw SessionErrors.tooManySessions({
      message: `Tenant ${p.tenant} already has ${tenantMax} live sessions; kill one first.`,
    });
  }
}

/** A conversation of a session Aegis knows is its owner's: resuming it hands over its history. */
export async function checkResume(
  ctx: SessionContext,
  claudeSessionId: string,
  mayAct: (s: SessionOwnership) => boolean,
): Promise<void> {
  for (const kind of ["managed", "observed"] as const) {
    const s = await sessionStore.byClaudeSession(ctx.db, claudeSessionId, kind);
    if (s && !mayAct(s)) throw SessionErrors.conversationNotFound({ details: { resume: claudeSessionId } });
  }
}
