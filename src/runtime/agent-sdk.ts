// The Agent SDK runtime: one long-lived streaming-input `query()` per session.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import {
  type HookCallbackMatcher,
  type Options,
  type Query,
  query,
  type SDKUserMessage,
} from "@anthropic-ai/claude-agent-sdk";
import { AsyncQueue } from "../core/async-queue";
import type { Logger } from "../core/log";
import { newStreamState, translate } from "./translate";
import type { Runtime, RuntimeCheck, RuntimeEvent, RuntimeHandle, RuntimeStartOptions } from "./types";

const run = promisify(execFile);

export interface AgentSdkRuntimeOptions {
  claudePath?: string | undefined;
  /** Environment added to every Claude Code process, on top of the server's own. */
  env: Record<string, string>;
  disableNonessentialTraffic: boolean;
  logger: Logger;
}

/** The binary the SDK's platform package ships, if it is installed. */
export function bundledClaudePath(): string | undefined {
  const require = createRequire(import.meta.url);
  const pkg = `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}`;
  for (const name of [pkg, `${pkg}-musl`]) {
    try {
      const path = join(dirname(require.resolve(`${name}/package.json`)), "claude");
      if (existsSync(path)) return path;
    } catch {
      // platform package not installed; try the next
    }
  }
  return undefined;
}

export class AgentSdkRuntime implements Runtime {
  readonly name = "agent-sdk";
  private checked: Promise<RuntimeCheck> | undefined;

  constructor(private readonly opts: AgentSdkRuntimeOptions) {}

  get claudePath(): string {
    return this.opts.claudePath ?? bundledClaudePath() ?? "claude";
  }

  check(): Promise<RuntimeCheck> {
    this.checked ??= this.probe();
    return this.checked;
  }

  private async probe(): Promise<RuntimeCheck> {
    const path = this.claudePath;
    try {
      const { stdout } = await run(path, ["--version"], { timeout: 15_000, env: this.baseEnv() });
      return { ok: true, path, version: stdout.trim().split(/\s+/)[0] };
    } catch (err) {
      this.checked = undefined; // retry on the next check: the binary may get installed
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? `no Claude Code binary at ${path}` : (err as Error).message;
      return { ok: false, path, error: reason };
    }
  }

  private baseEnv(): Record<string, string | undefined> {
    const env: Record<string, string | undefined> = { ...process.env, ...this.opts.env };
    if (this.opts.disableNonessentialTraffic) env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1";
    env.CLAUDE_AGENT_SDK_CLIENT_APP = "aegis";
    return env;
  }

  start(o: RuntimeStartOptions): RuntimeHandle {
    const input = new AsyncQueue<SDKUserMessage>();
    const events = new AsyncQueue<RuntimeEvent>();
    const abort = new AbortController();
    const stderr: string[] = [];
    const env = { ...this.baseEnv(), ...o.env };
    for (const name of o.unsetEnv ?? []) delete env[name];
    // Claude Code refuses bypassPermissions as root unless told it runs in a sandbox.
    if (o.permissionMode === "bypassPermissions" && process.getuid?.() === 0) env.IS_SANDBOX ??= "1";

    const options: Options = {
      cwd: o.workDir,
      env,
      abortController: abort,
      pathToClaudeCodeExecutable: this.claudePath,
      includePartialMessages: true,
      permissionMode: o.permissionMode,
      allowDangerouslySkipPermissions: o.permissionMode === "bypassPermissions",
      ...(o.resume ? { resume: o.claudeSessionId } : { sessionId: o.claudeSessionId }),
      ...(o.model ? { model: o.model } : {}),
      ...(o.allowedTools ? { allowedTools: o.allowedTools } : {}),
      ...(o.disallowedTools ? { disallowedTools: o.disallowedTools } : {}),
      ...(o.appendSystemPrompt
        ? { systemPrompt: { type: "preset", preset: "claude_code", append: o.appendSystemPrompt } }
        : {}),
      // Flag settings rank above user, project and local settings files, so their env cannot move these.
      ...(o.pinnedEnv ? { settings: { env: o.pinnedEnv } } : {}),
      ...(o.maxTurns ? { maxTurns: o.maxTurns } : {}),
      ...(o.maxBudgetUsd ? { maxBudgetUsd: o.maxBudgetUsd } : {}),
      ...(o.onPreToolUse ? { hooks: { PreToolUse: [preToolUse(o.onPreToolUse)] } } : {}),
      stderr: (data) => {
        stderr.push(data);
        if (stderr.length > 50) stderr.shift();
      },
      canUseTool: async (toolName, toolInput, { signal, toolUseID }) => {
        const decision = await o.onPermission({ toolUseId: toolUseID, toolName, input: toolInput, signal });
        return decision.behavior === "allow"
          ? { behavior: "allow", updatedInput: decision.updatedInput ?? toolInput }
          : { behavior: "deny", message: decision.message, ...(decision.interrupt ? { interrupt: true } : {}) };
      },
    };

    const q: Query = query({ prompt: input, options });
    const log = this.opts.logger;
    const stream = newStreamState();
    const loop = (async () => {
      let error: string | undefined;
      try {
        for await (const message of q) {
          for (const e of translate(message, stream)) events.push(e);
        }
      } catch (err) {
        if (!abort.signal.aborted) {
          error = `${(err as Error).message}${stderr.length ? `: ${stderr.join("").trim().slice(-2000)}` : ""}`;
          log.warn({ err, claudeSessionId: o.claudeSessionId }, "claude code process ended with an error");
        }
      }
      events.push({ type: "exited", error });
      events.close();
    })();

    return {
      events,
      ready: async () => {
        await q.initializationResult();
      },
      send: (text) => {
        input.push({ type: "user", message: { role: "user", content: text }, parent_tool_use_id: null });
      },
      interrupt: async () => {
        await q.interrupt();
      },
      setPermissionMode: (mode) => q.setPermissionMode(mode),
      close: async () => {
        input.close();
        abort.abort();
        q.close();
        await loop;
      },
    };
  }
}

/**
 * A PreToolUse hook that puts every tool call to `decide`. If deciding fails, the call is denied
 * (fail closed) by the hook itself: Claude Code's own `onFailure: "block"` would refuse to start on
 * an older Claude Code (a `claudePath` install).
 */
function preToolUse(decide: NonNullable<RuntimeStartOptions["onPreToolUse"]>): HookCallbackMatcher {
  const deny = (reason: string) => ({
    hookSpecificOutput: {
      hookEventName: "PreToolUse" as const,
      permissionDecision: "deny" as const,
      permissionDecisionReason: reason,
    },
  });
  return {
    hooks: [
      async (h) => {
        if (h.hook_event_name !== "PreToolUse") return {};
        const input = h.tool_input && typeof h.tool_input === "object" ? (h.tool_input as Record<string, unknown>) : {};
        try {
          const verdict = await decide({ toolUseId: h.tool_use_id, toolName: h.tool_name, input });
          return verdict ? deny(verdict.deny) : {};
        } catch (err) {
          return deny(
            `Aegis could not check this call against its policy (${(err as Error).message}); it was not run.`,
          );
        }
      },
    ],
  };
}
