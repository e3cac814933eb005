// OpenTelemetry tracing end to end: a real Aegis exports to a local OTLP/HTTP receiver while the
// real Claude Code runs scripted turns; the test decodes what arrived.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { type ModelServer, startModelServer } from "../support/model-server";
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SpanKinds,
  StatusCodes,
  startOtlpReceiver,
} from "../support/otlp-receiver";

type Json = Record<string, any>;
let model: ModelServer;
let receiver: OtlpReceiver;
let aegis: TestAegis;

beforeAll(async () => {
  model = await startModelServer();
  receiver = await startOtlpReceiver();
  aegis = await startAegis(model.url, {
    "telemetry.enabled": true,
    // A bare origin: Aegis appends /v1/traces (the receiver answers nothing else).
    "telemetry.endpoint": receiver.origin,
    "telemetry.headers": { "x-collector-key": "collector-secret" },
    "telemetry.serviceName": "aegis-under-test",
  });
});
afterAll(async () => {
  await aegis?.close();
  await receiver?.close();
  await model?.close();
});

const WRITE_USAGE = {
  input_tokens: 120,
  output_tokens: 30,
  cache_read_input_tokens: 7,
  cache_creation_input_tokens: 5,
};
const FINAL_USAGE = {
  input_tokens: 200,
  output_tokens: 12,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
};

/** Starts a session whose first turn asks to write a file, and waits for the approval request. */
async function pendingWrite(app: TestAegis, marker: string) {
  const dir = mkdtempSync(join(tmpdir(), "aegis-otel-"));
  model.script(marker, [
    {
      text: "Writing it.",
      toolUse: { name: "Write", input: { file_path: join(dir, "out.txt"), content: "hi\n" } },
      usage: WRITE_USAGE,
    },
    { text: "Finished.", usage: FINAL_USAGE },
  ]);
  const created = await app.api<Json>("POST", "/v1/sessions", {
    workDir: dir,
    prompt: `${marker}: write a file`,
    permissionMode: "default",
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const sse = SseClient.admin(app, `${app.url}/v1/sessions/${id}/events`);
  await sse.waitForType("approval.requested");
  return { id, sse };
}

/** Exports what has ended and returns the spans received so far that match. */
async function exported(pred: (s: ReceivedSpan) => boolean): Promise<ReceivedSpan[]> {
  await aegis.app.telemetry?.flush();
  return receiver.spans.filter(pred);
}

/** The SSE stream span ends when the client goes away; flush until it has arrived. */
async function eventually(pred: (s: ReceivedSpan) => boolean, what: string): Promise<ReceivedSpan> {
  for (let i = 0; i < 200; i++) {
    const [found] = await exported(pred);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no exported span for ${what}; got: ${receiver.spans.map((s) => s.name).join(", ")}`);
}

const turnOf = (sessionId: string) => (s: ReceivedSpan) =>
  s.name === "invoke_agent claude-code" && s.attributes["aegis.session.id"] === sessionId;

describe("tracing", () => {
  it("exports the HTTP span, the turn span, and its approved Write call and model requests as children", async () => {
    const { id, sse } = await pendingWrite(aegis, "otel-approve");
    expect((await aegis.api("POST", `/v1/sessions/${id}/approve`, {})).status).toBe(200);
    await sse.waitTurnsEnded(1);
    const usage = (await sse.waitForType("usage.recorded")).data.data as Json;
    const resolved = (await sse.waitForType("approval.resolved")).data.data as Json;
    const completed = (await sse.waitForType("tool.completed")).data.data as Json;

    const [http] = await exported((s) => s.name === "POST /v1/sessions");
    expect(http).toBeDefined();
    expect(http!.kind).toBe(SpanKinds.server);
    expect(http!.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/v1/sessions",
      "http.response.status_code": 201,
      "url.path": "/v1/sessions",
    });
    expect(http!.resource["service.name"]).toBe("aegis-under-test");

    const [turn, ...more] = await exported(turnOf(id));
    expect(more).toEqual([]);
    // The turn the request started is its child: one trace from the call to the work it caused.
    expect(turn!.parentSpanId).toBe(http!.spanId);
    expect(turn!.traceId).toBe(http!.traceId);
    expect(turn!.attributes).toMatchObject({
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.conversation.id": id,
      "aegis.turn.status": "completed",
      "gen_ai.usage.input_tokens": usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens,
      "gen_ai.usage.output_tokens": usage.outputTokens,
      "gen_ai.usage.cache_read.input_tokens": usage.cacheReadTokens,
      "gen_ai.usage.cache_creation.input_tokens": usage.cacheWriteTokens,
      "aegis.cost_usd": usage.costUsd,
    });
    expect(turn!.status.code).toBe(StatusCodes.unset);

    const children = receiver.spans.filter((s) => s.parentSpanId === turn!.spanId);
    for (const c of children) expect(c.traceId).toBe(turn!.traceId);
    const tool = children.find((s) => s.name === "execute_tool Write");
    expect(tool).toBeDefined();
    expect(tool!.attributes).toMatchObject({
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "Write",
      "gen_ai.tool.call.id": completed.toolUseId,
      "aegis.tool.decision": "approved",
      "aegis.approval.id": resolved.approvalId,
      "aegis.approval.wait_ms": resolved.waitMs,
      "aegis.tool.outcome": "success",
      "aegis.tool.duration_ms": completed.durationMs,
    });
    expect(tool!.events.map((e) => e.name)).toEqual(["approval.requested", "approval.resolved"]);
    expect(tool!.startMs).toBeGreaterThanOrEqual(turn!.startMs);
    expect(tool!.endMs).toBeLessThanOrEqual(turn!.endMs);

    // One span per model request, each with exactly the usage the scripted model returned.
    const chats = children.filter((s) => s.attributes["gen_ai.operation.name"] === "chat");
    expect(chats.map((c) => c.attributes["gen_ai.response.finish_reasons"])).toEqual([["tool_use"], ["end_turn"]]);
    for (const [chat, u] of [
      [chats[0], WRITE_USAGE],
      [chats[1], FINAL_USAGE],
    ] as const) {
      expect(chat!.kind).toBe(SpanKinds.client);
      expect(chat!.attributes).toMatchObject({
        "gen_ai.provider.name": "anthropic",
        "gen_ai.system": "anthropic",
        "gen_ai.usage.input_tokens": u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens,
        "gen_ai.usage.output_tokens": u.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": u.cache_read_input_tokens,
        "gen_ai.usage.cache_creation.input_tokens": u.cache_creation_input_tokens,
        "aegis.usage.uncached_input_tokens": u.input_tokens,
      });
      expect(chat!.attributes["gen_ai.request.model"]).toEqual(expect.any(String));
      expect(chat!.attributes["gen_ai.response.id"]).toEqual(expect.stringMatching(/^msg_/));
    }
    // The second request went out after the approved Write returned its result.
    expect(chats[1]!.startMs).toBeGreaterThanOrEqual(tool!.endMs);

    // The exporter posted OTLP JSON to the traces path with the configured headers.
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const r of receiver.requests) {
      expect(r.path).toBe("/v1/traces");
      expect(r.headers["x-collector-key"]).toBe("collector-secret");
    }

    // The event stream's span lasts as long as the stream and ends when the client leaves.
    sse.close();
    const stream = await eventually(
      (s) => s.name === "GET /v1/sessions/:id/events" && s.attributes["url.path"] === `/v1/sessions/${id}/events`,
      "the SSE request",
    );
    expect(stream.kind).toBe(SpanKinds.server);
  });

  it("joins the caller's trace (traceparent), for a prompt sent at once and for one that waited in the queue", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aegis-otel-"));
    model.script("otel-trace", [{ text: "First, slowly.", delayMs: 80, chunks: 4 }, { text: "Second." }]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir });
    const id = created.body.id as string;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await sse.waitFor((e) => e.event === "session.status_changed" && e.data.data.reason === "ready", 60_000, "ready");

    const callers = [
      { trace: "0af7651916cd43dd8448eb211c80319c", span: "b7ad6b7169203331", text: "otel-trace: one" },
      { trace: "4bf92f3577b34da6a3ce929d0e0e4736", span: "00f067aa0ba902b7", text: "otel-trace: two" },
    ];
    const send = (c: (typeof callers)[number]) =>
      aegis.api<Json>(
        "POST",
        `/v1/sessions/${id}/messages`,
        { text: c.text },
        { traceparent: `00-${c.trace}-${c.span}-01` },
      );
    expect((await send(callers[0]!)).body).toEqual({ queued: false, position: 0 });
    await sse.waitForType("message.delta");
    expect((await send(callers[1]!)).body).toEqual({ queued: true, position: 1 });
    // The queued prompt runs right after the first turn, so the session goes idle once, after both.
    await sse.waitFor((e) => e.event === "usage.recorded" && sse.of("usage.recorded").length >= 2, 60_000, "2 turns");
    sse.close();

    const turns = await exported(turnOf(id));
    expect(turns).toHaveLength(2);
    for (const c of callers) {
      const [http] = await exported((s) => s.name === "POST /v1/sessions/:id/messages" && s.traceId === c.trace);
      expect(http?.parentSpanId).toBe(c.span);
      const turn = turns.find((t) => t.traceId === c.trace);
      expect(turn?.parentSpanId).toBe(http!.spanId);
    }
    // Stored with the turn's start, so every event reader can correlate it too.
    const started = sse.events.filter((e) => e.event === "turn.started").map((e) => e.data.data.traceparent);
    expect(started.map((t: string) => t.split("-")[1])).toEqual(callers.map((c) => c.trace));
  });

  it("marks a rejected Write: decision rejected, an error result, and no error status", async () => {
    const { id, sse } = await pendingWrite(aegis, "otel-reject");
    expect((await aegis.api("POST", `/v1/sessions/${id}/reject`, { message: "Not there." })).status).toBe(200);
    await sse.waitTurnsEnded(1);
    sse.close();
    const [turn] = await exported(turnOf(id));
    expect(turn).toBeDefined();
    const tool = receiver.spans.find((s) => s.parentSpanId === turn!.spanId && s.name === "execute_tool Write");
    expect(tool?.attributes).toMatchObject({ "aegis.tool.decision": "rejected", "aegis.tool.outcome": "error" });
    expect(tool!.attributes["aegis.approval.wait_ms"]).toEqual(expect.any(Number));
    expect(tool!.status.code).toBe(StatusCodes.unset);
  });

  it("exports a server span for each model request through the gateway, which is served beside Fastify", async () => {
    const spans = await exported((s) => s.name === "POST /gateway/*");
    expect(spans.length).toBeGreaterThan(0);
    for (const span of spans) {
      expect(span.kind).toBe(SpanKinds.server);
      expect(span.attributes).toMatchObject({ "http.request.method": "POST", "http.route": "/gateway/*" });
      expect(String(span.attributes["url.path"])).toMatch(/^\/gateway\/v1\/messages/);
      expect(span.attributes["http.response.status_code"]).toBe(200);
    }
    // The query string (?beta=true) never leaves.
    expect(spans.some((s) => String(s.attributes["url.path"]).includes("?"))).toBe(false);
  });

  it("redacts the query string from exported URLs", async () => {
    const res = await aegis.api("GET", "/v1/sessions?limit=5&api_key=should-not-leave");
    expect(res.status).toBeLessThan(500);
    const [span] = await exported((s) => s.name === "GET /v1/sessions");
    expect(span?.attributes["url.path"]).toBe("/v1/sessions");
    expect(JSON.stringify(receiver.spans)).not.toContain("should-not-leave");
  });
});

describe("tracing switched off or sampled out", () => {
  async function oneTurn(overrides: Record<string, unknown>, marker: string) {
    const r = await startOtlpReceiver();
    const app = await startAegis(model.url, { "telemetry.endpoint": r.origin, ...overrides });
    try {
      model.script(marker, [{ text: "Done." }]);
      const created = await app.api<Json>("POST", "/v1/sessions", {
        workDir: mkdtempSync(join(tmpdir(), "aegis-otel-")),
        prompt: `${marker}: hello`,
      });
      expect(created.status).toBe(201);
      const sse = SseClient.admin(app, `${app.url}/v1/sessions/${created.body.id}/events`);
      await sse.waitTurnsEnded(1);
      sse.close();
      return { telemetry: app.app.telemetry, r, id: created.body.id as string };
    } finally {
      // Closing flushes whatever an enabled provider still holds.
      await app.close();
      await r.close();
    }
  }

  it("exports nothing by default", async () => {
    const { telemetry, r } = await oneTurn({}, "otel-off");
    expect(telemetry).toBeUndefined();
    expect(r.requests).toEqual([]);
  });

  it("exports no spans with sampleRatio 0", async () => {
    const { telemetry, r, id } = await oneTurn(
      { "telemetry.enabled": true, "telemetry.sampleRatio": 0 },
      "otel-ratio0",
    );
    expect(telemetry).toBeDefined();
    expect(r.spans.filter((s) => s.name.startsWith("invoke_agent"))).toEqual([]);
    expect(r.spans).toEqual([]);
    // Two traced servers shared this process; neither provider is global, so none of its spans
    // reached the first server's (always sampling) provider either.
    const leaked = await exported((s) => JSON.stringify(s.attributes).includes(id));
    expect(leaked).toEqual([]);
  });
});
