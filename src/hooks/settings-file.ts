// Writes and removes Aegis's HTTP hooks in a project's `.claude/settings.local.json`.
// Our entries are the ones that send the X-Aegis-Hook-Secret header; nothing else is touched.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { HOOK_SECRET_ENV, type HookEvent, HookEventSchema } from "./schema";

const HEADER = "X-Aegis-Hook-Secret";
const TIMEOUT_HEADER = "X-Aegis-Hook-Timeout";
const TOOL_EVENTS: readonly HookEvent[] = ["PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"];

interface HttpHook {
  type: string;
  url?: string;
  headers?: Record<string, string>;
  allowedEnvVars?: string[];
  timeout?: number;
}
interface Matcher {
  matcher?: string;
  hooks: HttpHook[];
}
type Settings = Record<string, unknown> & { hooks?: Record<string, Matcher[]> };

export const settingsPath = (dir: string) => join(dir, ".claude", "settings.local.json");

/** The part of a settings file this code walks; everything else in it is kept as it is. */
const SettingsShape = z.looseObject({
  hooks: z
    .record(
      z.string(),
      z.array(z.looseObject({ matcher: z.string().optional(), hooks: z.array(z.looseObject({ type: z.string() })) })),
    )
    .optional(),
});

function read(file: string): Settings {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); fix or remove it, then run this again`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error(`${file} does not hold a JSON object`);
  const shape = SettingsShape.safeParse(parsed);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    throw new Error(
      `${file} is not a settings file Claude Code reads (${issue?.path.join(".") || "(root)"}: ${issue?.message}); fix it, then run this again`,
    );
  }
  return parsed as Settings;
}

/** Throws, saying what to fix, when `dir` or its settings file could not take our hooks; writes nothing. */
export function checkHooksFile(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
  read(settingsPath(dir));
}

const ours = (h: HttpHook) => h.type === "http" && h.headers !== undefined && HEADER in h.headers;

/** Removes our hooks; returns how many entries went. Deletes the file if nothing else was in it. */
export function uninstallHooks(dir: string): number {
  const file = settingsPath(dir);
  if (!existsSync(file)) return 0;
  const settings = read(file);
  let removed = 0;
  for (const [event, matchers] of Object.entries(settings.hooks ?? {})) {
    const kept = matchers
      .map((m) => {
        const hooks = m.hooks.filter((h) => !ours(h));
        removed += m.hooks.length - hooks.length;
        return { ...m, hooks };
      })
      .filter((m) => m.hooks.length > 0);
    if (kept.length > 0) (settings.hooks as Record<string, Matcher[]>)[event] = kept;
    else delete (settings.hooks as Record<string, Matcher[]>)[event];
  }
  if (settings.hooks && Object.keys(settings.hooks).length === 0) delete settings.hooks;
  if (Object.keys(settings).length === 0) rmSync(file);
  else writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
  return removed;
}

/** Adds one HTTP hook per event, pointing at `serverUrl`; the secret stays in the environment. */
export function installHooks(dir: string, o: { serverUrl: string; timeoutSeconds: number }): string {
  uninstallHooks(dir);
  const file = settingsPath(dir);
  mkdirSync(join(dir, ".claude"), { recursive: true });
  const settings = read(file);
  settings.hooks ??= {};
  for (const event of HookEventSchema.options) {
    const hook: HttpHook = {
      type: "http",
      url: `${o.serverUrl.replace(/\/$/, "")}/v1/hooks/${event}`,
      // Claude Code fills $VAR only for variables listed in allowedEnvVars; the file holds no secret.
      // The timeout goes in a header too, so the server answers a held PermissionRequest before it.
      headers: { [HEADER]: `$${HOOK_SECRET_ENV}`, [TIMEOUT_HEADER]: String(o.timeoutSeconds) },
      allowedEnvVars: [HOOK_SECRET_ENV],
      timeout: o.timeoutSeconds,
    };
    const entry: Matcher = TOOL_EVENTS.includes(event) ? { matcher: "*", hooks: [hook] } : { hooks: [hook] };
    settings.hooks[event] = [...(settings.hooks[event] ?? []), entry];
  }
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
  return file;
}
