// /v1/analytics against the real Claude Code: figures equal what the scripted model reported, and
// every caller sees only the sessions the ownership rule lets it read.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { type ModelServer, startModelServer } from "../support/model-server";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const keys: Record<string, Json> = {};
const SONNET = "claude-sonnet-4-5-20250929";
const USAGE = [
  { input_tokens: 2000, output_tokens: 120, cache_read_input_tokens: 500, cache_creation_input_tokens: 40 },
  { input_tokens: 2100, output_tokens: 60, cache_read_input_tokens: 900 },
];
// Sonnet 4.5 per MTok: $3 input, $15 output, $0.30 cache read, $3.75 cache write (5 minutes).
const COST = (4100 * 3 + 180 * 15 + 1400 * 0.3 + 40 * 3.75) / 1e6;
const TOKENS = { input: 4100, output: 180, cacheRead: 1400, cacheWrite: 40 };
let sessionId = "";

beforeAll(async () => {
  model = await startModelServer();
  aegis = await startAegis(model.url);
  for (const [name, role, tenant] of [
    ["owner", "operator", "default"],
    ["peer", "operator", "default"],
    ["viewer", "viewer", "default"],
    ["outsider", "operator", "other"],
  ] as const) {
    keys[name] = (await aegis.api<Json>("POST", "/v1/auth/keys", { name, role, tenant })).body;
  }
  model.script("an-run", [
    { toolUse: { name: "Bash", input: { command: "true", description: "noop" } }, usage: USAGE[0] },
    { text: "analysed", usage: USAGE[1] },
  ]);
  const created = await aegis.api<Json>(
    "POST",
    "/v1/sessions",
    {
      workDir: mkdtempSync(join(tmpdir(), "aegis-an-")),
      prompt: "an-run: go",
      allowedTools: ["Bash"],
      model: SONNET,
    },
    as(keys.owner?.token),
  );
  sessionId = created.body.id;
  const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${sessionId}/events`);
  await sse.waitTurnsEnded(1);
  sse.close();
});
afterAll(async () => {
  await aegis?.close();
  await model?.close();
});

describe("analytics", () => {
  it("summary: sessions, turns, tokens and cost as the model and Claude Code reported them, with a daily trend", async () => {
    const res = await aegis.api<Json>("GET", "/v1/analytics/summary", undefined, as(keys.owner?.token));
    expect(res.status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(res.body.sessions).toMatchObject({ created: 1, byStatus: { idle: 1, budget_exceeded: 0 } });
    expect(res.body.turns).toEqual({ total: 1, completed: 1, failed: 0, interrupted: 0 });
    expect(res.body.gateway).toMatchObject({ requests: 2, errors: 0, refused: 0, unpricedRequests: 0, tokens: TOKENS });
    expect(res.body.gateway.costUsd).toBeCloseTo(COST, 9);
    expect(res.body.claudeCode.tokens).toEqual(TOKENS);
    expect(res.body.claudeCode.costUsd).toBeGreaterThan(0);
    expect(res.body.daily).toEqual([
      {
        date: today,
        sessions: 1,
        turns: 1,
        requests: 2,
        tokens: TOKENS,
        costUsd: expect.closeTo(COST, 9),
        unpricedRequests: 0,
        claudeCodeCostUsd: res.body.claudeCode.costUsd,
      },
    ]);
  });

  it("costs by model, day, API key and tenant; tokens by model and kind", async () => {
    const costs = await aegis.api<Json>("GET", "/v1/analytics/costs", undefined, as(keys.viewer?.token));
    expect(costs.status).toBe(200);
    const line = { costUsd: expect.closeTo(COST, 9), unpricedRequests: 0, requests: 2 };
    expect(costs.body.total).toEqual(line);
    expect(costs.body.byModel).toEqual([{ model: SONNET, requests: 2, costUsd: expect.closeTo(COST, 9) }]);
    expect(costs.body.byKey).toEqual([{ keyId: keys.owner?.id, ...line }]);
    expect(costs.body.byTenant).toEqual([{ tenant: "default", ...line }]);
    expect(costs.body.byDay).toHaveLength(1);
    expect(costs.body.claudeCode.costUsd).toBeGreaterThan(0);

    const tokens = await aegis.api<Json>("GET", "/v1/analytics/tokens", undefined, as(keys.viewer?.token));
    expect(tokens.body.total).toEqual({ ...TOKENS, requests: 2 });
    expect(tokens.body.byModel).toEqual([{ model: SONNET, requests: 2, ...TOKENS }]);
    expect(tokens.body.claudeCode).toEqual(TOKENS);
  });

  it("is scoped like every other read: other owners of a private tenant and other tenants see none of it", async () => {
    for (const who of ["peer", "outsider"]) {
      const summary = await aegis.api<Json>("GET", "/v1/analytics/summary", undefined, as(keys[who]?.token));
      expect(summary.status).toBe(200);
      expect(summary.body.sessions.created, who).toBe(0);
      expect(summary.body.turns.total, who).toBe(0);
      expect(summary.body.gateway.requests, who).toBe(0);
      expect(summary.body.claudeCode.tokens.input, who).toBe(0);
      expect(summary.body.daily, who).toEqual([]);
      const costs = await aegis.api<Json>("GET", "/v1/analytics/costs", undefined, as(keys[who]?.token));
      expect(costs.body.byKey, who).toEqual([]);
      const tokens = await aegis.api<Json>("GET", "/v1/analytics/tokens", undefined, as(keys[who]?.token));
      expect(tokens.body.byModel, who).toEqual([]);
      const limits = await aegis.api<Json>("GET", "/v1/analytics/rate-limits", undefined, as(keys[who]?.token));
      expect(limits.body.pace.turnsSampled, who).toBe(0);
    }
    const admin = await aegis.api<Json>("GET", "/v1/analytics/summary");
    expect(admin.body.gateway.requests).toBe(2);
  });

  it("takes a range, and answers a bad one with 400", async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const later = await aegis.api<Json>("GET", `/v1/analytics/summary?from=${tomorrow}`);
    expect(later.status).toBe(400);
    expect(later.body.error.code).toBe("ANALYTICS_RANGE_INVALID");
    const empty = await aegis.api<Json>(
      "GET",
      `/v1/analytics/tokens?from=${tomorrow}&to=${new Date(Date.now() + 2 * 86_400_000).toISOString()}`,
    );
    expect(empty.status).toBe(200);
    expect(empty.body.total.requests).toBe(0);
    for (const q of ["from=yesterday", "to=2026-13-01", "from=2026-02-02&to=2026-02-01", "bogus=1"]) {
      const bad = await aegis.api<Json>("GET", `/v1/analytics/costs?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body.error.code, q).toBe("VALIDATION_FAILED");
    }
  });
});
