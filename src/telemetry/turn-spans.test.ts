// How bus events become turn, tool-call and model-request spans: parents, timing, decisions, endings.
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { z } from "zod";
import { ApprovalRequested, ApprovalResolved } from "../approval";
import { EventBus, type EventDef, event, type StoredEvent } from "../core/events";
import {
  ModelResponded,
  PolicyDecided,
  SessionEnded,
  ToolCalled,
  ToolCompleted,
  TurnFailed,
  TurnStarted,
  UsageRecorded,
} from "../session";
import { TurnTracer } from "./turn-spans";

const SES = "ses_1";
let exporter: InMemorySpanExporter;
let provider: TracerProvider;
let bus: EventBus;
let tracer: TurnTracer;
let seq = 0;
const t0 = Date.parse("2030-01-01T00:00:00.000Z");

beforeEach(() => {
  exporter = new InMemorySpanExporter();
  provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  bus = new EventBus();
  tracer = new TurnTracer(provider.getTracer("test"), pino({ level: "silent" }));
  tracer.attach(bus);
});
afterEach(async () => {
  await provider.shutdown();
});

/** Publishes one event as the store would, `ms` after t0. */
function publish<S extends z.ZodType>(def: EventDef<string, S>, ms: number, data: z.input<S>, sessionId = SES) {
  const p = event(def, sessionId, data);
  const stored: StoredEvent = {
    seq: ++seq,
    id: `evt_${seq}`,
    type: p.type,
    sessionId,
    time: new Date(t0 + ms).toISOString(),
    data: p.data,
  };
  bus.publish([stored]);
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const spans = () => exporter.getFinishedSpans();
const named = (prefix: string) => spans().filter((s) => s.name.startsWith(prefix));
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const offset = (hr: [number, number]) => hr[0] * 1000 + Math.round(hr[1] / 1e6) - t0;
const usage = { inputTokens: 10, outputTokens: 4, cacheReadTokens: 2, cacheWriteTokens: 1 };

function call(id: string, ms: number, name = "Bash") {
  publish(ToolCalled, ms, { turnId: "trn_1", itemId: `tri_${id}`, toolUseId: id, toolName: name, input: {} });
}
function complete(id: string, ms: number, isError = false, name = "Bash") {
  publish(ToolCompleted, ms, {
    itemId: `tri_${id}`,
    toolUseId: id,
    toolName: name,
    isError,
    output: "",
    truncated: false,
    durationMs: 5,
  });
}
function respond(ms: number, stopReason = "tool_use") {
  publish(ModelResponded, ms, { turnId: "trn_1", messageId: `msg_${ms}`, model: "m", stopReason, ...usage });
}
function finish(ms: number) {
  publish(UsageRecorded, ms, { turnId: "trn_1", ...usage, costUsd: 0.5 });
}

describe("TurnTracer", () => {
  it("nests tools and model requests under the turn, timing each request from the last awaited result", async () => {
    publish(TurnStarted, 0, { turnId: "trn_1", itemId: "tri_p" });
    call("t1", 100);
    respond(150);
    complete("t1", 400);
    respond(600, "end_turn");
    finish(610);
    await settle();

    const [turn] = named("invoke_agent");
    expect(turn?.attributes).toMatchObject({ "aegis.turn.status": "completed", "gen_ai.usage.input_tokens": 13 });
    const [tool] = named("execute_tool");
    const chats = named("chat");
    for (const s of [tool, ...chats]) expect(parentOf(s!)).toBe(turn!.spanContext().spanId);
    expect(tool?.attributes).toMatchObject({ "aegis.tool.decision": "auto", "aegis.tool.outcome": "success" });
    expect(chats.map((c) => [offset(c.startTime), offset(c.endTime)])).toEqual([
      [0, 150],
      [400, 600],
    ]);
  });

  it("keeps approval events that arrive before tool.called, and a tool finished while its response streams", async () => {
    publish(TurnStarted, 0, { turnId: "trn_1", itemId: "tri_p" });
    publish(ApprovalRequested, 50, { approvalId: "apr_1", toolUseId: "t1", toolName: "Write", input: {} });
    call("t1", 60, "Write");
    publish(ApprovalResolved, 90, {
      approvalId: "apr_1",
      toolUseId: "t1",
      toolName: "Write",
      status: "approved",
      message: null,
      waitMs: 40,
    });
    complete("t1", 120, false, "Write");
    respond(200);
    respond(300, "end_turn");
    finish(310);
    await settle();

    const [tool] = named("execute_tool");
    expect(offset(tool!.startTime)).toBe(50);
    expect(tool?.attributes).toMatchObject({ "aegis.tool.decision": "approved", "aegis.approval.wait_ms": 40 });
    expect(tool?.events.map((e) => e.name)).toEqual(["approval.requested", "approval.resolved"]);
    // The tool ended before its own response did, so the next request went out after that response.
    expect(named("chat").map((c) => offset(c.startTime))).toEqual([0, 200]);
  });

  it("records policy decisions and failed turns", async () => {
    publish(TurnStarted, 0, { turnId: "trn_1", itemId: "tri_p" });
    call("t1", 10);
    publish(PolicyDecided, 11, { toolUseId: "t1", toolName: "Bash", decision: "deny", reason: "no rm", rule: null });
    complete("t1", 12, true);
    // usage.recorded and turn.failed come from one unit of work.
    finish(20);
    publish(TurnFailed, 20, { turnId: "trn_1", code: "MODEL_API_ERROR", message: "overloaded", status: 529 });
    await settle();

    const [tool] = named("execute_tool");
    expect(tool?.attributes).toMatchObject({
      "aegis.tool.decision": "policy_deny",
      "aegis.tool.decided_by": "policy",
      "aegis.tool.outcome": "error",
    });
    expect(tool?.status.code).toBe(0);
    const [turn] = named("invoke_agent");
    expect(turn?.attributes).toMatchObject({ "aegis.turn.status": "failed", "error.type": "MODEL_API_ERROR" });
    expect(turn?.status).toMatchObject({ code: 2, message: "overloaded" });
  });

  it("ends the turn and its unfinished tools when the session ends, and what is open on close", async () => {
    publish(TurnStarted, 0, { turnId: "trn_1", itemId: "tri_p" });
    call("t1", 10);
    publish(SessionEnded, 30, { status: "failed", reason: "PROCESS_EXITED", error: null });
    publish(TurnStarted, 0, { turnId: "trn_2", itemId: "tri_q" }, "ses_2");
    tracer.close(t0 + 50);
    publish(TurnStarted, 60, { turnId: "trn_3", itemId: "tri_r" });

    const turns = named("invoke_agent");
    expect(turns.map((t) => t.attributes["aegis.turn.status"])).toEqual(["abandoned", "unfinished"]);
    expect(turns[0]?.status.code).toBe(2);
    expect(named("execute_tool")[0]?.attributes["aegis.tool.outcome"]).toBe("unfinished");
    expect(bus.size).toBe(0);
  });
});
