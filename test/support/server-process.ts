// Runs Aegis as a separate process (`src/main.ts`), the way `npm start` does, so tests can
// SIGTERM or kill -9 it and start it again on the same data directory.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { stringify } from "yaml";
import { type ClaudeEnv, makeClaudeEnv } from "./claude-env";
import { type ModelServer, startModelServer } from "./model-server";
import { until } from "./until";

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

const ROOT = join(import.meta.dirname, "..", "..");

export function writeConfig(dataDir: string, config: Record<string, unknown>): string {
  const file = join(dataDir, "config.yaml");
  writeFileSync(file, stringify(config));
  return file;
}

export async function startServerProcess(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "main.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: dataDir, AEGIS_HOME: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${out}`));
    });
  });
  return { child, url, output: () => out, exited };
}

type Json = Record<string, any>;

/** A JSON client for servers in their own process, authenticated with `token`. */
export function processClient(token: string) {
  const api = async (base: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  /** Polls a session until its status is `want`; returns the session. A timeout says where it stood. */
  const statusOf = async (base: string, id: string, want: string) => {
    let last: Json = {};
    try {
      return await until(`${id} to be ${want}`, async () => {
        const s = await api(base, "GET", `/v1/sessions/${id}`);
        last = s.body;
        return s.body.status === want ? s.body : undefined;
      });
    } catch (err) {
      const t = await api(base, "GET", `/v1/sessions/${id}/transcript`).catch(() => ({ body: {} }));
      throw new Error(
        `${(err as Error).message}; last seen ${JSON.stringify(last).slice(0, 600)}; transcript ${JSON.stringify(t.body).slice(0, 1500)}`,
      );
    }
  };
  return { api, statusOf };
}

/**
 * For a test file that runs Aegis in its own process: one scripted model and Claude Code environment
 * (handed to `bind` once they exist), data directories with a config, and servers, all killed and
 * removed when the file is done.
 */
export function useServerProcesses(token: string, bind: (model: ModelServer, claude: ClaudeEnv) => void) {
  let claude: ClaudeEnv | undefined;
  let model: ModelServer | undefined;
  const cleanup: string[] = [];
  const running: ServerProcess[] = [];
  beforeAll(async () => {
    model = await startModelServer();
    claude = makeClaudeEnv(model.url);
    bind(model, claude);
  });
  afterAll(async () => {
    for (const p of running) p.child.kill("SIGKILL");
    await model?.close();
    claude?.cleanup();
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    cleanup.push(d);
    return d;
  };
  return {
    tempDir,
    /** A data directory whose config points Claude Code at the scripted model and sets the admin token. */
    dataDir(prefix = "aegis-proc-"): string {
      if (!claude) throw new Error("the model server starts in beforeAll");
      const d = tempDir(prefix);
      writeConfig(d, {
        port: 0,
        logLevel: "warn",
        runtime: { env: claude.env },
        auth: { token },
        security: { allowedWorkDirs: [tmpdir()] },
      });
      return d;
    },
    async start(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
      const p = await startServerProcess(dataDir, env);
      running.push(p);
      return p;
    },
  };
}
