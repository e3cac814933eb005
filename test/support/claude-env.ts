// A throwaway environment for running the real Claude Code binary offline
// against the fake model server (test/support/model-server.ts).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface ClaudeEnv {
  /** Complete environment for the Claude Code process (pass as `options.env`). */
  env: Record<string, string>;
  /** Throwaway HOME. */
  home: string;
  /** CLAUDE_CONFIG_DIR (inside home). */
  configDir: string;
  /** A fresh empty directory to use as the session's cwd. */
  cwd: string;
  /** Path of the Claude Code binary shipped with the Agent SDK. */
  claudePath: string;
  /** Remove home and cwd. */
  cleanup(): void;
}

/** The native Claude Code binary of @anthropic-ai/claude-agent-sdk-<platform>-<arch>. */
export function claudeBinaryPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}/package.json`;
  return join(dirname(require.resolve(pkg)), process.platform === "win32" ? "claude.exe" : "claude");
}

/** Variables carried over from the test process (nothing that configures Claude Code or the API). */
const PASS_THROUGH = ["PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "SHELL", "USER", "LOGNAME"];

/**
 * Environment for Claude Code talking to `modelUrl`: throwaway HOME and
 * CLAUDE_CONFIG_DIR, a fake API key, no nonessential traffic, IS_SANDBOX=1
 * (so bypassPermissions works as root) and CLAUDE_CODE_MAX_RETRIES=0 (so a
 * scripted 429/529/5xx surfaces at once instead of after minutes of backoff).
 * `extra` overrides; an `undefined` value removes a variable.
 */
export function makeClaudeEnv(modelUrl: string, extra: Record<string, string | undefined> = {}): ClaudeEnv {
  const home = mkdtempSync(join(tmpdir(), "aegis-claude-home-"));
  const configDir = join(home, ".claude");
  mkdirSync(configDir, { recursive: true });
  const cwd = mkdtempSync(join(tmpdir(), "aegis-claude-cwd-"));
  const env: Record<string, string> = {};
  for (const k of PASS_THROUGH) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  Object.assign(env, {
    HOME: home,
    CLAUDE_CONFIG_DIR: configDir,
    ANTHROPIC_BASE_URL: modelUrl,
    ANTHROPIC_API_KEY: "test-key",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    IS_SANDBOX: "1",
    CLAUDE_CODE_MAX_RETRIES: "0",
  });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return {
    env,
    home,
    configDir,
    cwd,
    claudePath: claudeBinaryPath(),
    cleanup() {
      rmSync(home, { recursive: true, force: true });
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
