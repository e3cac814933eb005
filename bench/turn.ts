// Benchmark: turn latency and session start-to-ready, Aegis (REST + SSE) vs the bare Agent SDK, same scripted model.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Options, type Query, query, type SDKMessage, type SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import { AsyncQueue } from "../src/core/async-queue";
import { type ModelServer, startModelServer } from "../test/support/model-server";
import { type BenchAegis, send, startBenchAegis } from "./aegis";
import { alternate } from "./alternate";
import { EventStream, type StreamEvent } from "./event-stream";
import { type Relay, startRelay, startRelayProcess } from "./relay";
import { median, percentile, ratioInterval } from "./stats";

const GOAL = 1.1;
const REPLY = "Here is a short answer from the scripted model, streamed in a dozen pieces to exercise the delta path.";
const { values: args } = parseArgs({
  options: { turns: { type: "string" }, starts: { type: "string" }, "warm-up": { type: "string" } },
});
// 600 alternating turns (about a minute) put a 95% interval of about ±0.02 around the ratio on a 2-vCPU machine.
const TURNS = Number(args.turns ?? process.env.BENCH_TURNS ?? 600);
const STARTS = Number(args.starts ?? process.env.BENCH_STARTS ?? 5);
/**
 * Uncounted turns each before the measured ones. A server runs turns all day: its code is compiled
 * hot by then, and so is the bench's; a few turns measure V8 warming up instead (~0.1 on the ratio).
 */
const WARM_UP = Number(args["warm-up"] ?? process.env.BENCH_WARM_UP ?? 20);
if (!(TURNS >= 1 && STARTS >= 1 && WARM_UP >= 0))
  throw new Error("--turns and --starts must be positive integers, --warm-up a whole number");

const dirs: string[] = [];
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), "aegis-bench-wd-"));
  dirs.push(d);
  return d;
};

const adminStream = (aegis: Pick<BenchAegis, "adminToken">, url: string) =>
  new EventStream(url, { authorization: `Bearer ${aegis.adminToken}` });
const idle = (reason: string) => (e: StreamEvent) =>
  e.event === "session.status_changed" && e.data.data.to === "idle" && e.data.data.reason === reason;

async function ok<T>(p: Promise<{ status: number; body: T }>, want: number, what: string): Promise<T> {
  const r = await p;
  if (r.status !== want) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// ---------- where a turn's time goes ----------
/** A turn's time, split at the scripted model's first received request and its last answered one. */
interface Turn {
  ms: number;
  /** send → the model server has read the turn's first request */
  toModel: number;
  /** first request read → last answer ended (Claude Code's own work between model calls included) */
  atModel: number;
  /** last answer ended → the reply seen by the client */
  fromModel: number;
  /** CPU (user + system) this process spent between send and reply seen */
  cpu: number;
}
let model: ModelServer;

/** This process's CPU time so far, in ms. */
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function split(t0: number, t1: number, cpu: number): Turn {
  const reqs = model.requests.filter((r) => r.kind === "turn" && r.receivedHr >= t0 && r.receivedHr <= t1);
  const first = Math.min(...reqs.map((r) => r.receivedHr));
  const last = Math.max(...reqs.map((r) => r.answeredHr ?? t1));
  return { ms: t1 - t0, toModel: first - t0, atModel: last - first, fromModel: t1 - last, cpu };
}

// ---------- Aegis ----------
const createSession = (aegis: BenchAegis) =>
  ok(aegis.api<{ id: string }>("POST", "/v1/sessions", { workDir: freshDir(), reuse: false }), 201, "create session");

class AegisSession {
  private constructor(
    private readonly aegis: BenchAegis,
    readonly id: string,
    readonly sse: EventStream,
  ) {}

  static async open(aegis: BenchAegis): Promise<AegisSession> {
    const s = await createSession(aegis);
    const sse = adminStream(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    await sse.after(0, idle("ready"), "ready");
    return new AegisSession(aegis, s.id, sse);
  }

  /** ms from POST /messages to SSE message.completed; then waits (uncounted) for idle. */
  async turn(text: string): Promise<Turn> {
    const from = this.sse.lastSeq;
    const done = this.sse.after(from, (e) => e.event === "message.completed", "message.completed");
    const c0 = cpuNow();
    const t0 = performance.now();
    await ok(send(this.aegis, `/v1/sessions/${this.id}/messages`, { text }), 202, "send message");
    const e = await done;
    const t1 = performance.now();
    const cpu = cpuNow() - c0;
    if (e.data.data.text !== REPLY) throw new Error(`Aegis: unexpected reply ${JSON.stringify(e.data.data.text)}`);
    await this.sse.after(from, idle("turn completed"), "turn end");
    return split(t0, t1, cpu);
  }

  async close() {
    await ok(this.aegis.api("DELETE", `/v1/sessions/${this.id}`), 200, "kill session");
    this.sse.close();
  }
}

/** ms from POST /v1/sessions to the session's idle/ready event on the global stream. */
async function aegisStart(aegis: BenchAegis, all: EventStream): Promise<number> {
  const from = all.lastSeq;
  const t0 = performance.now();
  const s = await createSession(aegis);
  await all.after(from, (e) => e.data.sessionId === s.id && idle("ready")(e), "ready");
  const ms = performance.now() - t0;
  await ok(aegis.api("DELETE", `/v1/sessions/${s.id}`), 200, "kill session");
  return ms;
}

// ---------- the floor: a bare relay with the same hops (HTTP in, SSE out, a model proxy), nothing else ----------
class RelaySession {
  private constructor(
    private readonly relay: Relay,
    readonly id: string,
    readonly sse: EventStream,
  ) {}

  static async open(relay: Relay, options: Options): Promise<RelaySession> {
    const id = await relay.open(options);
    return new RelaySession(relay, id, new EventStream(`${relay.url}/sessions/${id}/events`));
  }

  /** ms from POST /messages to SSE message.completed, as for Aegis; then waits (uncounted) for the result. */
  async turn(text: string): Promise<Turn> {
    const from = this.sse.lastSeq;
    const done = this.sse.after(from, (e) => e.event === "message.completed", "message.completed");
    const c0 = cpuNow();
    const t0 = performance.now();
    await ok(
      send({ url: this.relay.url, adminToken: "" }, `/sessions/${this.id}/messages`, { text }),
      202,
      "relay send",
    );
    const e = await done;
    const t1 = performance.now();
    const cpu = cpuNow() - c0;
    if (e.data.data.text !== REPLY) throw new Error(`relay: unexpected reply ${JSON.stringify(e.data.data.text)}`);
    await this.sse.after(from, (x) => x.event === "turn.ended", "relay turn end");
    return split(t0, t1, cpu);
  }

  close() {
    this.sse.close();
  }
}

// ---------- bare Agent SDK, with the options Aegis uses ----------
class BareSession {
  private readonly input = new AsyncQueue<SDKUserMessage>();
  private readonly q: Query;
  private waiters: Array<{ pred: (m: SDKMessage) => boolean; resolve: (m: SDKMessage) => void; reject: () => void }> =
    [];
  private readonly loop: Promise<void>;

  constructor(options: Options) {
    const q = query({ prompt: this.input, options });
    this.q = q;
    this.loop = (async () => {
      try {
        for await (const m of q) {
          const hit = this.waiters.filter((w) => w.pred(m));
          this.waiters = this.waiters.filter((w) => !hit.includes(w));
          for (const w of hit) w.resolve(m);
        }
      } finally {
        for (const w of this.waiters.splice(0)) w.reject();
      }
    })();
    this.loop.catch(() => {}); // surfaced by close()
  }

  ready() {
    return this.q.initializationResult();
  }

  private next(pred: (m: SDKMessage) => boolean): Promise<SDKMessage> {
    return new Promise((resolve, fail) =>
      this.waiters.push({ pred, resolve, reject: () => fail(new Error("bare SDK: the query ended")) }),
    );
  }

  /** ms from pushing the user message to the first assistant message with a text block; then waits for the result. */
  async turn(text: string): Promise<Turn> {
    const textMsg = this.next(
      (m) => m.type === "assistant" && !m.parent_tool_use_id && m.message.content.some((b) => b.type === "text"),
    );
    const result = this.next((m) => m.type === "result");
    result.catch(() => {}); // awaited below unless the reply fails first
    const c0 = cpuNow();
    const t0 = performance.now();
    this.input.push({ type: "user", message: { role: "user", content: text }, parent_tool_use_id: null });
    const m = await textMsg;
    const t1 = performance.now();
    const cpu = cpuNow() - c0;
    const block = m.type === "assistant" && m.message.content.find((b) => b.type === "text");
    if (!block || block.text !== REPLY) throw new Error(`bare SDK: unexpected reply ${JSON.stringify(block)}`);
    await result;
    return split(t0, t1, cpu);
  }

  async close() {
    this.input.close();
    this.q.close();
    await this.loop;
  }
}

function bareOptions(aegis: BenchAegis): Options {
  return {
    cwd: freshDir(),
    env: { ...process.env, ...aegis.claude.env, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" },
    pathToClaudeCodeExecutable: aegis.claude.claudePath,
    includePartialMessages: true,
    permissionMode: "default",
    allowDangerouslySkipPermissions: false,
    sessionId: randomUUID(),
    canUseTool: async (_tool, input) => ({ behavior: "allow", updatedInput: input }),
  };
}

async function bareStart(aegis: BenchAegis): Promise<number> {
  const t0 = performance.now();
  const s = new BareSession(bareOptions(aegis));
  await s.ready();
  const ms = performance.now() - t0;
  await s.close();
  return ms;
}

// ---------- stats and report ----------
const cells = (...xs: Array<string | number>) =>
  xs.map((x) => (typeof x === "number" ? x.toFixed(1) : x).padStart(8)).join("");

/** One line of the report; a judged line also shows how far its ratio can move with another sample of rounds. */
function row(name: string, a: number[], b: number[], judged = true) {
  const ratio = median(a) / median(b);
  const cols = cells(median(a), percentile(a, 90), median(b), percentile(b, 90), ratio.toFixed(2));
  if (!judged) return console.log(`${name.padEnd(22)}${cols}`);
  const [lo, hi] = ratioInterval(a, b);
  console.log(
    `${name.padEnd(22)}${cols}   ${ratio <= GOAL ? "met" : "NOT met"} (95% CI ${lo.toFixed(2)}–${hi.toFixed(2)})`,
  );
}

type Cleanup = Array<() => unknown>;
/** Runs and forgets the pending cleanups, newest first. */
async function drain(cleanup: Cleanup) {
  for (const c of cleanup.splice(0).reverse()) {
    await Promise.resolve()
      .then(c)
      .catch((err: unknown) => console.error(`cleanup failed: ${String(err)}`));
  }
}

async function main() {
  const cleanup: Cleanup = [];
  try {
    model = await startModelServer();
    cleanup.push(() => model.close());
    model.script(/bench/, [{ text: REPLY, chunks: 12, repeat: true }]);
    // BENCH_GATEWAY=off measures Aegis without its model gateway on the path (on by default, as in production).
    const gateway = process.env.BENCH_GATEWAY !== "off";
    // BENCH_SERVER=process runs Aegis in its own process, as deployed; the default runs it in this one.
    const separate = process.env.BENCH_SERVER === "process";
    const aegis = await startBenchAegis(model.url, gateway, separate);
    cleanup.push(() => aegis.close());
    // With the gateway on, a second server without it splits the turn's extra time between the
    // gateway's hop and the rest of Aegis, in the same run.
    const direct = gateway ? await startBenchAegis(model.url, false, separate) : undefined;
    if (direct) cleanup.push(() => direct.close());
    console.log(
      `model gateway: ${gateway ? "on (default)" : "off"} | Aegis server: ${separate ? "own process" : "in the bench process"}`,
    );
    const cpu = `${cpus().length} cpus (${cpus()[0]?.model.trim()})`;
    console.log(`Claude Code ${aegis.version} | ${cpu} | Node ${process.version}`);
    console.log(`turns: ${TURNS} after ${WARM_UP} to warm up, starts: ${STARTS} after one; each alternating\n`);

    // Turn time: one long-lived session each.
    const sessions: Cleanup = [];
    cleanup.push(() => drain(sessions));
    const a = await AegisSession.open(aegis);
    sessions.push(() => a.close());
    const d = direct ? await AegisSession.open(direct) : undefined;
    if (d) sessions.push(() => d.close());
    const b = new BareSession(bareOptions(aegis));
    sessions.push(() => b.close());
    await b.ready();
    // With the gateway on, the relay's Claude Code also talks to the model through a proxy: the same hops.
    // With Aegis in its own process, so is the relay: both pay the same hops between processes.
    const relay = separate ? await startRelayProcess(model.url, gateway) : await startRelay(model.url, gateway);
    cleanup.push(() => relay.close());
    const relayOptions = bareOptions(aegis);
    const r = await RelaySession.open(relay, {
      ...relayOptions,
      env: { ...relayOptions.env, ANTHROPIC_BASE_URL: relay.modelUrl },
    });
    sessions.push(() => r.close());
    const arms = [
      () => a.turn("bench turn"),
      () => b.turn("bench turn"),
      () => r.turn("bench turn"),
      ...(d ? [() => d.turn("bench turn")] : []),
    ];
    await alternate(WARM_UP, ...arms);
    const cpu0 = aegis.cpuMs();
    const turns = await alternate(TURNS, ...arms);
    const [turnA = [], turnB = [], turnR = []] = turns;
    const turnD = turns[3];
    // The server idles through the other arms' turns, so its CPU time is spent on its own (warm-up included).
    const cpu1 = aegis.cpuMs();
    const serverCpu = cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / (TURNS + 1);
    await drain(sessions);

    // Session start to ready, watched on the global event stream.
    const all = adminStream(aegis, `${aegis.url}/v1/events`);
    cleanup.push(() => all.close());
    const [startA, startB] = await alternate(
      STARTS,
      () => aegisStart(aegis, all),
      () => bareStart(aegis),
    );

    console.log(`${"ms".padEnd(22)}${cells("Aegis", "p90", "bare", "p90", "ratio")}   goal ≤ ${GOAL}`);
    const part = (ts: Turn[], k: keyof Turn) => ts.map((t) => t[k]);
    row(`turn (n=${TURNS})`, part(turnA, "ms"), part(turnB, "ms"));
    row("  send → model", part(turnA, "toModel"), part(turnB, "toModel"), false);
    row("  at the model", part(turnA, "atModel"), part(turnB, "atModel"), false);
    row("  model → reply seen", part(turnA, "fromModel"), part(turnB, "fromModel"), false);
    // Everything in this process: the model server and the client in every arm, and Aegis in its own.
    row("  CPU, this process", part(turnA, "cpu"), part(turnB, "cpu"), false);
    if (serverCpu !== undefined) console.log(`${"  server CPU per turn".padEnd(22)}${cells(serverCpu)}`);
    if (turnD) {
      row("Aegis, no gateway", part(turnD, "ms"), part(turnB, "ms"), false);
      row("  CPU, this process", part(turnD, "cpu"), part(turnB, "cpu"), false);
    }
    // The floor: what the HTTP and SSE hops alone cost, with nothing stored or checked.
    const floor = separate
      ? `${gateway ? "relay+proxy" : "bare relay"}, own proc`
      : gateway
        ? "turn via relay + proxy"
        : "turn via bare relay";
    row(floor, part(turnR, "ms"), part(turnB, "ms"), false);
    row("  CPU, this process", part(turnR, "cpu"), part(turnB, "cpu"), false);
    if (turnD) {
      // Aegis's own turn ÷ the same turn without the gateway's hop: what the gateway adds.
      const share = median(part(turnA, "ms")) / median(part(turnD, "ms"));
      console.log(
        `${"gateway's share".padEnd(22)}${cells("", "", "", "", share.toFixed(2))}   Aegis ÷ Aegis, no gateway`,
      );
    }
    row(`start→ready (n=${STARTS})`, startA, startB);
  } finally {
    await drain(cleanup);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
