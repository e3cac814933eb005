// Measures the hook round trip under load: Claude Code-shaped PreToolUse calls (decided by a
// policy) posted to a real Aegis on loopback at a fixed concurrency, against GET /v1/health in the
// same process as the baseline. Prints p50/p99 and their ratio; never asserts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/app";
import { loadConfig } from "../src/config/load";
import { createLogger } from "../src/core/log";
import { percentile } from "./stats";

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

async function load(label: string, send: (i: number) => Promise<Response>) {
  const times: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      const i = next++;
      const t = performance.now();
      const res = await send(i);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${label}: HTTP ${res.status}`);
      times.push(performance.now() - t);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { p50: percentile(times, 50), p99: percentile(times, 99), rate: CALLS / seconds };
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "aegis-bench-hooks-"));
  const token = "bench-admin-token-0123456789abcdef";
  const { config } = loadConfig({
    env: { AEGIS_HOME: dataDir },
    overrides: {
      port: 0,
      "auth.token": token,
      "auth.requestsPerMinute": 10_000_000,
      "security.allowedWorkDirs": [tmpdir()],
    },
  });
  const app = await createApp({ config, logger: createLogger("silent") });
  const url = await app.listen();
  try {
    const admin = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    await fetch(`${url}/v1/policies/default`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({
        rules: [
          { tool: "Bash", command: { glob: "rm *" }, decision: "deny", reason: "no deleting" },
          { tool: "Bash", command: { glob: "git *" }, decision: "allow", reason: "git is fine" },
        ],
      }),
    });
    const inst = (await (
      await fetch(`${url}/v1/hooks/installations`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "bench" }),
      })
    ).json()) as { secret: string };
    const hookHeaders = { "content-type": "application/json", "x-aegis-hook-secret": inst.secret };
    const hook = (i: number) =>
      fetch(`${url}/v1/hooks/PreToolUse`, {
        method: "POST",
        headers: hookHeaders,
        body: JSON.stringify({
          session_id: `bench-${i % 8}`,
          cwd: dataDir,
          hook_event_name: "PreToolUse",
          tool_name: "Bash",
          tool_use_id: `toolu_${i}`,
          tool_input: { command: i % 2 ? "git status" : "rm -rf build" },
        }),
      });
    const health = () => fetch(`${url}/v1/health`);

    await load("warm-up", hook);
    const base = await load("health", health);
    const hooks = await load("hooks", hook);
    console.log(`hook round trip under load (${CALLS} calls, ${CONCURRENCY} concurrent, policy-decided PreToolUse)`);
    console.log(
      `  PreToolUse hook:  p50 ${hooks.p50.toFixed(2)} ms  p99 ${hooks.p99.toFixed(2)} ms  (${hooks.rate.toFixed(0)}/s)`,
    );
    console.log(
      `  GET /v1/health:   p50 ${base.p50.toFixed(2)} ms  p99 ${base.p99.toFixed(2)} ms  (${base.rate.toFixed(0)}/s)`,
    );
    console.log(
      `  ratio hook/health: p50 ${(hooks.p50 / base.p50).toFixed(1)}x  p99 ${(hooks.p99 / base.p99).toFixed(1)}x`,
    );
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
