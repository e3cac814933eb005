// Benchmark: time to first token and total time of a turn through the model gateway ÷ direct to the
// same scripted model, in one run (two Aegis servers, one with the gateway off); then the same for
// bare Messages API requests, to show the hop's own cost in milliseconds.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SseClient, type SseEvent, startAegis, type TestAegis } from "../test/support/aegis";
import { startModelServer } from "../test/support/model-server";
import { alternate } from "./alternate";
import { median } from "./stats";

const GOAL = 1.05;
const REPLY = "Here is a short answer from the scripted model, streamed in a dozen pieces to exercise the delta path.";
const { values: args } = parseArgs({
  options: { turns: { type: "string" }, requests: { type: "string" }, "pace-ms": { type: "string" } },
  allowPositionals: false,
});
/** Between streamed events of a turn's answer, as a model generating text spaces them (0: all at once). */
const PACE_MS = Number(args["pace-ms"] ?? process.env.BENCH_PACE_MS ?? 5);
const TURNS = Number(args.turns ?? process.env.BENCH_TURNS ?? 40);
const REQUESTS = Number(args.requests ?? process.env.BENCH_REQUESTS ?? 200);
if (!(TURNS >= 1 && REQUESTS >= 1 && PACE_MS >= 0))
  throw new Error("--turns, --requests and --pace-ms must be numbers ≥ 1, ≥ 1, ≥ 0");

type Json = Record<string, any>;
const dirs: string[] = [];
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), "aegis-bench-gw-"));
  dirs.push(d);
  return d;
};
const now = () => performance.now();
const lastSeq = (sse: SseClient) => Number(sse.events.findLast((e) => e.id !== undefined)?.id ?? 0);
const after = (sse: SseClient, seq: number, pred: (e: SseEvent) => boolean, what: string) =>
  sse.waitFor((e) => Number(e.id) > seq && pred(e), 60_000, what);

interface Timing {
  ttft: number;
  total: number;
}

// ---------- a turn through Aegis (REST + SSE), with or without the gateway ----------
class Session {
  private constructor(
    private readonly aegis: TestAegis,
    readonly id: string,
    readonly sse: SseClient,
  ) {}

  static async open(aegis: TestAegis): Promise<Session> {
    const res = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), reuse: false });
    if (res.status !== 201) throw new Error(`create session: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${res.body.id}/events`);
    await sse.waitForStatus("idle");
    return new Session(aegis, res.body.id, sse);
  }

  /** ms from POST /messages to the first message.delta, and to message.completed; then waits (uncounted) for idle. */
  async turn(text: string): Promise<Timing> {
    const from = lastSeq(this.sse);
    const first = after(this.sse, from, (e) => e.event === "message.delta", "message.delta");
    const done = after(this.sse, from, (e) => e.event === "message.completed", "message.completed");
    const t0 = now();
    const sent = await this.aegis.api("POST", `/v1/sessions/${this.id}/messages`, { text });
    if (sent.status !== 202) throw new Error(`send: HTTP ${sent.status}`);
    await first;
    const ttft = now() - t0;
    const e = await done;
    const total = now() - t0;
    if (e.data.data.text !== REPLY) throw new Error(`unexpected reply ${JSON.stringify(e.data.data.text)}`);
    await after(this.sse, from, (x) => x.event === "session.status_changed" && x.data.data.to === "idle", "idle");
    return { ttft, total };
  }

  async close() {
    await this.aegis.api("DELETE", `/v1/sessions/${this.id}`);
    this.sse.close();
  }
}

// ---------- a bare streamed Messages request ----------
const BODY = JSON.stringify({
  model: "claude-sonnet-4-5",
  max_tokens: 5000,
  stream: true,
  messages: [{ role: "user", content: "bench: hello" }],
  tools: [{ name: "noop", description: "noop", input_schema: { type: "object" } }],
});

async function bareRequest(url: string, key: string): Promise<Timing> {
  const t0 = now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: BODY,
  });
  if (res.status !== 200 || !res.body) throw new Error(`HTTP ${res.status}`);
  let ttft = Number.NaN;
  const decoder = new TextDecoder();
  let seen = "";
  for await (const chunk of res.body) {
    if (Number.isNaN(ttft)) {
      seen += decoder.decode(chunk as Uint8Array, { stream: true });
      if (seen.includes("content_block_delta")) ttft = now() - t0;
    }
  }
  return { ttft, total: now() - t0 };
}

// ---------- stats and report ----------
const cells = (...xs: Array<string | number>) =>
  xs.map((x) => (typeof x === "number" ? x.toFixed(2) : x).padStart(10)).join("");

function rows(name: string, through: Timing[], direct: Timing[], goal: boolean) {
  for (const k of ["ttft", "total"] as const) {
    const a = median(through.map((t) => t[k]));
    const b = median(direct.map((t) => t[k]));
    const verdict = goal ? (a / b <= GOAL ? "met" : "NOT met") : "";
    console.log(`${`${name} ${k}`.padEnd(26)}${cells(a, b, a - b, (a / b).toFixed(3))}   ${verdict}`);
  }
}

async function main() {
  const cleanup: Array<() => unknown> = [];
  try {
    const model = await startModelServer();
    cleanup.push(() => model.close());
    model.script(/bench turn/, [{ text: REPLY, chunks: 12, delayMs: PACE_MS, repeat: true }]);
    model.script(/bench: hello/, [{ text: REPLY, chunks: 12, repeat: true }]);
    const through = await startAegis(model.url);
    cleanup.push(() => through.close());
    const direct = await startAegis(model.url, { "gateway.enabled": false });
    cleanup.push(() => direct.close());
    const gateway = through.app.gateway;
    if (!gateway) throw new Error("the gateway did not start");
    const check = await through.app.runtime.check();
    if (!check.ok) throw new Error(`Claude Code unavailable: ${check.error}`);
    console.log(
      `Claude Code ${check.version} | ${cpus().length} cpus (${cpus()[0]?.model.trim()}) | Node ${process.version}`,
    );
    console.log(
      `turns: ${TURNS} (answer streamed with ${PACE_MS} ms between events), requests: ${REQUESTS} ` +
        "(answered at once); alternating, after a warm-up each; medians\n",
    );

    const a = await Session.open(through);
    cleanup.push(() => a.close());
    const b = await Session.open(direct);
    cleanup.push(() => b.close());
    const [turnA, turnB] = await alternate(
      TURNS,
      () => a.turn("bench turn"),
      () => b.turn("bench turn"),
    );

    const token = gateway.tokens.issue({ sessionId: a.id, tenant: "default", ownerKeyId: null });
    const [reqA, reqB] = await alternate(
      REQUESTS,
      () => bareRequest(`${through.url}/gateway/v1/messages`, token),
      () => bareRequest(`${model.url}/v1/messages`, "test-key"),
    );

    console.log(`${"ms".padEnd(26)}${cells("gateway", "direct", "added", "ratio")}   goal ≤ ${GOAL}`);
    rows(`turn (n=${TURNS})`, turnA, turnB, true);
    rows(`request (n=${REQUESTS})`, reqA, reqB, false);
    console.log(
      "\nturn: a Claude Code turn through Aegis, to its first delta and to completion. request: one bare streamed " +
        "request to the scripted model, which answers in under a millisecond, so its ratio is the hop's fixed cost " +
        "(forwarding, metering and the database record, all in this one process) over almost nothing.",
    );
  } finally {
    for (const c of cleanup.reverse()) {
      await Promise.resolve()
        .then(c)
        .catch((err: unknown) => console.error(`cleanup failed: ${String(err)}`));
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
