// How bus events become series: tool-call decisions, model attribution and API error statuses.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApprovalResolved } from "../approval";
import { systemClock } from "../core/clock";
import { EventBus, type EventDef, type StoredEvent } from "../core/events";
import { PolicyDecided, ToolCompleted, TurnFailed, TurnRetried, UsageRecorded } from "../session";
import { type OpenedDb, openDb } from "../store/db";
import { migrate } from "../store/migrations";
import { Metrics } from "./index";

let opened: OpenedDb;
let bus: EventBus;
let metrics: Metrics;
let seq = 0;

beforeEach(async () => {
  opened = openDb(":memory:");
  await migrate(opened.db);
  bus = new EventBus();
  metrics = new Metrics({ db: opened.db, bus, clock: systemClock, sseClients: () => 0 });
});
afterEach(async () => {
  metrics.close();
  await opened.close();
});

function publish<D>(def: EventDef<string>, data: D, sessionId = "ses_a") {
  const e: StoredEvent = {
    seq: ++seq,
    id: `evt_${seq}`,
    type: def.type,
    sessionId,
    time: new Date().toISOString(),
    data: def.schema.parse(data),
  };
  bus.publish([e]);
}

async function values(name: string): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not declared`);
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    const key = Object.entries(v.labels)
      .map(([k, l]) => `${k}=${l}`)
      .join(",");
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

const tool = (toolUseId: string) => ({
  itemId: "tri_1",
  toolUseId,
  toolName: "Bash",
  isError: false,
  output: "",
  truncated: false,
  durationMs: 1,
});
const usage = {
  turnId: "trn_1",
  inputTokens: 10,
  outputTokens: 2,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  costUsd: 0.5,
};
const resolved = (toolUseId: string, status: "approved" | "rejected" | "cancelled" | "expired") => ({
  approvalId: "apr_1",
  toolUseId,
  toolName: "Bash",
  status,
  message: null,
  waitMs: 2500,
});
const policy = (toolUseId: string, decision: "allow" | "deny") => ({
  toolUseId,
  toolName: "Bash",
  decision,
  reason: "rule",
  rule: null,
});

describe("metrics subscriber", () => {
  it.each([
    ["no decision was needed", [], "auto"],
    ["a policy allowed it", [[PolicyDecided, policy("t", "allow")]], "policy_allow"],
    ["a policy denied it", [[PolicyDecided, policy("t", "deny")]], "policy_deny"],
    ["a person approved it", [[ApprovalResolved, resolved("t", "approved")]], "approved"],
    ["it expired", [[ApprovalResolved, resolved("t", "expired")]], "expired"],
    ["another call was decided", [[ApprovalResolved, resolved("other", "rejected")]], "auto"],
    [
      "the decision belonged to an earlier, ended turn",
      [
        [ApprovalResolved, resolved("t", "rejected")],
        [UsageRecorded, usage],
      ],
      "auto",
    ],
  ] as const)("labels a tool call whose %s as %s", async (_, before, decision) => {
    for (const [def, data] of before) publish(def, data);
    publish(ToolCompleted, tool("t"));
    expect(await values("aegis_tool_calls_total")).toEqual({ [`tool=Bash,decision=${decision}`]: 1 });
  });

  it("splits tokens and cost by model, and says unknown when Claude Code gave no split", async () => {
    publish(UsageRecorded, {
      ...usage,
      byModel: {
        big: { inputTokens: 8, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 4, costUsd: 0.4 },
        small: { inputTokens: 2, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.1 },
      },
    });
    publish(UsageRecorded, usage);
    expect(await values("aegis_tokens_total")).toEqual({
      "model=big,kind=input": 8,
      "model=big,kind=output": 2,
      "model=big,kind=cache_write": 4,
      "model=small,kind=input": 2,
      "model=unknown,kind=input": 10,
      "model=unknown,kind=output": 2,
    });
    expect(await values("aegis_cost_usd_total")).toEqual({
      "model=big": 0.4,
      "model=small": 0.1,
      "model=unknown": 0.5,
    });
    expect(await values("aegis_turns_total")).toEqual({ "": 2 });
  });

  it("counts retried and final model API errors by status, and interruptions as turn failures only", async () => {
    publish(TurnRetried, { turnId: "trn_1", attempt: 1, maxRetries: 2, status: 429, error: "rate_limit" });
    publish(TurnRetried, { turnId: "trn_1", attempt: 2, maxRetries: 2, status: null, error: "connection" });
    publish(TurnFailed, { turnId: "trn_1", code: "MODEL_API_ERROR", message: "x", status: 429 });
    publish(TurnFailed, { turnId: "trn_2", code: "MODEL_API_ERROR", message: "dropped", status: null });
    publish(TurnFailed, { turnId: "trn_3", code: "INTERRUPTED", message: "x", status: null });
    expect(await values("aegis_model_api_errors_total")).toEqual({ "status=429": 2, "status=none": 2 });
    expect(await values("aegis_turn_failures_total")).toEqual({ "code=MODEL_API_ERROR": 2, "code=INTERRUPTED": 1 });
  });

  it("observes approval waits in seconds by outcome", async () => {
    publish(ApprovalResolved, resolved("t", "cancelled"));
    const wait = await values("aegis_approval_wait_seconds");
    expect(wait["outcome=cancelled"]).toBeGreaterThan(0);
    const text = await metrics.render();
    expect(text).toContain('aegis_approval_wait_seconds_sum{outcome="cancelled"} 2.5');
    expect(text).toContain('aegis_approval_wait_seconds_bucket{le="5",outcome="cancelled"} 1');
    expect(text).toContain('aegis_approval_wait_seconds_bucket{le="1",outcome="cancelled"} 0');
  });

  it("two instances keep separate registries", async () => {
    const other = new Metrics({ db: opened.db, bus: new EventBus(), clock: systemClock, sseClients: () => 3 });
    publish(ToolCompleted, tool("t"));
    expect(await values("aegis_tool_calls_total")).toEqual({ "tool=Bash,decision=auto": 1 });
    expect((await other.registry.getSingleMetric("aegis_tool_calls_total")?.get())?.values).toEqual([]);
    expect(await other.render()).toContain("aegis_sse_clients 3");
    other.close();
  });
});
