// The Aegis servers a benchmark measures: in the bench's own process (the default), or in their own,
// as `npm start` runs them (BENCH_SERVER=process).
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { startAegis, type TestAegis } from "../test/support/aegis";
import { makeClaudeEnv } from "../test/support/claude-env";
import { startServerProcess, writeConfig } from "../test/support/server-process";

/** What the bench needs of a server, in this process or in its own. */
export type BenchAegis = Pick<TestAegis, "url" | "adminToken" | "api" | "claude"> & {
  /** The Claude Code version in use. */
  version: string | undefined;
  /** User + system CPU the server's own process has used, in ms (Linux); undefined in this process. */
  cpuMs(): number | undefined;
  close(): Promise<void>;
};

/** Starts one Aegis server whose sessions talk to `modelUrl`, through its model gateway or not. */
export async function startBenchAegis(modelUrl: string, gateway: boolean, separate: boolean): Promise<BenchAegis> {
  if (separate) return aegisProcess(modelUrl, gateway);
  const a = await startAegis(modelUrl, { "gateway.enabled": gateway });
  const check = await a.app.runtime.check();
  if (!check.ok) {
    await a.close();
    throw new Error(`Claude Code unavailable: ${check.error}`);
  }
  return {
    url: a.url,
    adminToken: a.adminToken,
    api: a.api,
    claude: a.claude,
    version: check.version,
    cpuMs: () => undefined,
    async close() {
      // close() removes its dirs, unless it throws first
      try {
        await a.close();
      } finally {
        a.claude.cleanup();
        rmSync(a.dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Aegis as `npm start` runs it: its own process, so its work does not share the bench's event loop. */
async function aegisProcess(modelUrl: string, gateway: boolean): Promise<BenchAegis> {
  const dataDir = mkdtempSync(join(tmpdir(), "aegis-bench-data-"));
  const claude = makeClaudeEnv(modelUrl);
  const adminToken = `bench-admin-${randomUUID()}`;
  writeConfig(dataDir, {
    port: 0,
    logLevel: "warn",
    runtime: { env: claude.env },
    auth: { token: adminToken, requestsPerMinute: 1_000_000 },
    security: { allowedWorkDirs: [tmpdir()] },
    gateway: { enabled: gateway },
  });
  const proc = await startServerProcess(dataDir);
  const pid = proc.child.pid;
  const api: TestAegis["api"] = async (method, path, body, headers = {}) => {
    const res = await fetch(proc.url + path, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as never, headers: res.headers };
  };
  const ready = await api<{ checks: { claudeCode: { version?: string } } }>("GET", "/v1/ready");
  return {
    url: proc.url,
    adminToken,
    api,
    claude,
    version: ready.body.checks.claudeCode.version,
    cpuMs() {
      if (pid === undefined) return undefined;
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      } catch {
        return undefined;
      }
    },
    async close() {
      proc.child.kill("SIGTERM");
      await proc.exited;
      claude.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The timed POST goes through undici's request() on a keep-alive agent, as a latency-minded client
 * would send it; fetch() adds its own overhead of a few tenths of a millisecond that is not Aegis's.
 */
const client = new Agent({ keepAliveTimeout: 60_000 });
export async function send(aegis: Pick<BenchAegis, "url" | "adminToken">, path: string, body: unknown) {
  const res = await request(aegis.url + path, {
    method: "POST",
    dispatcher: client,
    headers: { authorization: `Bearer ${aegis.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as unknown };
}
