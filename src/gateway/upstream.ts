// Where the gateway forwards and with which credentials: the config, else what Claude Code itself
// would have used (runtime.env over the server's environment).
import type { Config } from "../config/schema";

export interface Upstream {
  /** Without a trailing slash; request paths (`/v1/messages`) are appended. */
  baseUrl: string;
  apiKey: string | undefined;
  authToken: string | undefined;
}

export const ANTHROPIC_API = "https://api.anthropic.com";

/** Providers Claude Code talks to with their own protocols; the gateway speaks only the Anthropic API. */
const OTHER_PROVIDERS = ["CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY"];
/** Every other provider switched off, for a Claude Code that must talk to the gateway. */
export const OTHER_PROVIDERS_OFF: Record<string, string> = Object.fromEntries(OTHER_PROVIDERS.map((n) => [n, "0"]));

export function resolveUpstream(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): { upstream: Upstream } | { upstream: null; reason: string } {
  // A variable set in runtime.env wins even when empty: that is how a config removes one.
  const read = (name: string): string | undefined => {
    const v = name in config.runtime.env ? config.runtime.env[name] : env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  const other = OTHER_PROVIDERS.find((n) => read(n) !== undefined && read(n) !== "0");
  if (other) return { upstream: null, reason: `${other} is set; the gateway speaks only the Anthropic API` };
  const up = config.gateway.upstream;
  const apiKey = up.apiKey ?? read("ANTHROPIC_API_KEY");
  const authToken = up.authToken ?? read("ANTHROPIC_AUTH_TOKEN");
  if (apiKey === undefined && authToken === undefined) {
    return {
      upstream: null,
      reason:
        "no upstream credentials (gateway.upstream.apiKey, or ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN in runtime.env or the server's environment)",
    };
  }
  const baseUrl = (up.baseUrl ?? read("ANTHROPIC_BASE_URL") ?? ANTHROPIC_API).replace(/\/+$/, "");
  return { upstream: { baseUrl, apiKey, authToken } };
}

/** Credentials a Claude Code process must not see when it runs behind the gateway. */
export const CREDENTIAL_ENV = ["ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"];
