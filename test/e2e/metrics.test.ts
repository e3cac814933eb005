// GET /metrics with the real Claude Code: every declared series moves, the endpoint is protected,
// and the shipped dashboard, alert rules and README name only series that exist.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { type ModelServer, startModelServer } from "../support/model-server";

type Json = Record<string, any>;
const root = join(import.meta.dirname, "..", "..");
let model: ModelServer;
let aegis: TestAegis;
const metricsToken = `metrics-${randomBytes(16).toString("hex")}`;

beforeAll(async () => {
  model = await startModelServer();
  // One retry, so a scripted 529 is seen both as a retried and as a final model API error.
  aegis = await startAegis(model.url, { "metrics.token": metricsToken }, { CLAUDE_CODE_MAX_RETRIES: "1" });
});
afterAll(async () => {
  await aegis?.close();
  await model?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (one sample per line; `# ` lines are metadata). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(token = aegis.adminToken): Promise<Sample[]> {
  const res = await fetch(`${aegis.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return parseExposition(await res.text());
}

const keyOf = (s: Sample) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

/** The families this server declares, from its own registry (so a new series needs a test). */
function declared(): Array<{ name: string; type: string }> {
  return aegis.app.metrics.registry.getMetricsAsArray().map((m) => ({ name: m.name, type: String(m.type) }));
}

/** The sample that says a family moved: a histogram's _count, anything else itself. */
const movingSample = (f: { name: string; type: string }) => (f.type === "histogram" ? `${f.name}_count` : f.name);

describe("metrics", () => {
  it("every declared series moves through a session's life", async () => {
    const families = declared();
    expect(families.length).toBeGreaterThan(10);
    for (const f of families) expect(f.name).toMatch(/^aegis_[a-z_]+$/);
    const baseline = new Map((await scrape()).map((s) => [keyOf(s), s.value]));
    const moved = new Set<string>();
    const record = (samples: Sample[]) => {
      for (const s of samples) if (s.value > (baseline.get(keyOf(s)) ?? 0)) moved.add(s.name);
      return samples;
    };

    const dir = mkdtempSync(join(tmpdir(), "aegis-metrics-"));
    const written = join(dir, "written.txt");
    const refused = join(dir, "refused.txt");
    model.script("metrics-life", [
      {
        text: "Hello.",
        usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 },
      },
      { text: "Writing.", toolUse: { name: "Write", input: { file_path: written, content: "yes\n" } } },
      { text: "Written." },
      { text: "Writing again.", toolUse: { name: "Write", input: { file_path: refused, content: "no\n" } } },
      { text: "Not written." },
      { error: { status: 529 } },
      { error: { status: 529 } },
    ]);
    const all = SseClient.admin(aegis, `${aegis.url}/v1/events`);
    await all.waitForType("sessions.snapshot");
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: dir,
      prompt: "metrics-life: hello",
      permissionMode: "default",
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await sse.waitTurnsEnded(1);
    let s = record(await scrape());
    expect(value(s, "aegis_sse_clients")).toBe(2);
    expect(value(s, "aegis_sessions", { status: "idle" })).toBe(1);
    expect(value(s, "aegis_turns_total")).toBe(1);
    expect(value(s, "aegis_tokens_total", { kind: "cache_read" })).toBe(7);
    expect(value(s, "aegis_tokens_total", { kind: "input" })).toBe(100);
    expect(s.filter((x) => x.name === "aegis_tokens_total").every((x) => x.labels.model !== "unknown")).toBe(true);
    expect(value(s, "aegis_cost_usd_total")).toBeGreaterThan(0);

    // A tool call a person approves.
    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "metrics-life: write it" });
    const first = await sse.waitForType("approval.requested");
    s = record(await scrape());
    expect(value(s, "aegis_approvals_pending")).toBe(1);
    expect(value(s, "aegis_approval_oldest_pending_age_seconds")).toBeGreaterThan(0);
    expect(value(s, "aegis_sessions", { status: "awaiting_approval" })).toBe(1);
    const approved = await aegis.api("POST", `/v1/approvals/${first.data.data.approvalId}`, {
      decision: "allow_once",
    });
    expect(approved.status).toBe(200);
    await sse.waitTurnsEnded(2);
    expect(readFileSync(written, "utf8")).toBe("yes\n");

    // A tool call a person rejects.
    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "metrics-life: write the other" });
    const second = await sse.waitForType("approval.requested", (d) => d.approvalId !== first.data.data.approvalId);
    const rejected = await aegis.api("POST", `/v1/approvals/${second.data.data.approvalId}`, {
      decision: "reject_once",
      message: "not that one",
    });
    expect(rejected.status).toBe(200);
    await sse.waitTurnsEnded(3);
    expect(existsSync(refused)).toBe(false);

    // The model answers 529 twice: one retried and one final model API error.
    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "metrics-life: overloaded" });
    await sse.waitForType("turn.failed");
    await sse.waitTurnsEnded(4);

    expect((await aegis.api("DELETE", `/v1/sessions/${id}`)).status).toBe(200);
    await sse.waitForType("session.ended");
    sse.close();
    all.close();
    s = record(await scrape());

    expect(value(s, "aegis_sessions_started_total")).toBe(1);
    expect(value(s, "aegis_sessions_ended_total", { outcome: "stopped" })).toBe(1);
    expect(value(s, "aegis_sessions", { status: "stopped" })).toBe(1);
    expect(value(s, "aegis_turns_total")).toBe(4);
    expect(value(s, "aegis_turn_failures_total", { code: "MODEL_API_ERROR" })).toBe(1);
    expect(value(s, "aegis_model_api_errors_total", { status: "529" })).toBe(2);
    expect(value(s, "aegis_messages_total", { role: "user" })).toBe(4);
    expect(value(s, "aegis_tool_calls_total", { tool: "Write", decision: "approved" })).toBe(1);
    expect(value(s, "aegis_tool_calls_total", { tool: "Write", decision: "rejected" })).toBe(1);
    expect(value(s, "aegis_approvals_requested_total", { tool: "Write" })).toBe(2);
    expect(value(s, "aegis_approval_wait_seconds_count", { outcome: "approved" })).toBe(1);
    expect(value(s, "aegis_approval_wait_seconds_count", { outcome: "rejected" })).toBe(1);
    expect(value(s, "aegis_approvals_pending")).toBe(0);
    expect(value(s, "aegis_events_total", { type: "session.created" })).toBe(1);
    expect(value(s, "aegis_event_delivery_lag_seconds_count")).toBeGreaterThan(0);
    // Routes are patterns, never raw URLs with ids in them.
    const http = s.filter((x) => x.name === "aegis_http_request_duration_seconds_count");
    expect(
      value(http, "aegis_http_request_duration_seconds_count", { route: "/v1/sessions", status_code: "201" }),
    ).toBe(1);
    expect(
      value(http, "aegis_http_request_duration_seconds_count", { route: "/v1/sessions/:id", method: "DELETE" }),
    ).toBe(1);
    expect(http.filter((x) => x.labels.route?.includes("ses_"))).toEqual([]);
    // The model gateway's requests are served beside Fastify and counted all the same, under one route.
    const gateway = http.filter((x) => x.labels.route === "/gateway/*" && x.labels.method === "POST");
    expect(gateway.reduce((sum, x) => sum + x.value, 0)).toBeGreaterThanOrEqual(4);
    expect(http.filter((x) => x.labels.route?.startsWith("/gateway/v1"))).toEqual([]);
    // Event streams are not requests with a latency.
    expect(http.filter((x) => x.labels.route?.endsWith("/events"))).toEqual([]);

    const still = families.filter((f) => !moved.has(movingSample(f))).map((f) => f.name);
    expect(still, "declared series that no step of this test moved").toEqual([]);
  });

  it("answers a scrape while the database's writer is busy: it reads on the reader", async () => {
    expect(await aegis.app.reader.ready).toBe(true);
    let release!: () => void;
    const busy = aegis.app.db.transaction().execute(() => new Promise<void>((r) => (release = r)));
    // Were the scrape to read on the writer's connection, it would wait for the release below, forever.
    const samples = await scrape();
    release();
    await busy;
    expect(samples.some((s) => s.name === "aegis_sessions")).toBe(true);
  });

  it("is protected: a metrics.read key or the metrics token, nothing else", async () => {
    const get = (headers: Record<string, string>) => fetch(`${aegis.url}/metrics`, { headers });
    expect((await get({})).status).toBe(401);
    expect((await get({ authorization: "Bearer not-the-metrics-token-at-all-nope" })).status).toBe(401);
    expect((await get({ authorization: `Bearer ${metricsToken}` })).status).toBe(200);
    const viewer = await aegis.api<Json>("POST", "/v1/auth/keys", { name: "grafana", role: "viewer", tenant: "other" });
    expect((await get({ authorization: `Bearer ${viewer.body.token}` })).status).toBe(200);
    const scoped = await aegis.api<Json>("POST", "/v1/auth/keys", {
      name: "no metrics",
      role: "operator",
      scopes: ["session.read"],
    });
    expect((await get({ authorization: `Bearer ${scoped.body.token}` })).status).toBe(403);
    // The metrics token opens nothing but metrics.
    const sessions = await aegis.api<Json>("GET", "/v1/sessions", undefined, {
      authorization: `Bearer ${metricsToken}`,
    });
    expect(sessions.status).toBe(403);
    expect(sessions.body.error.code).toBe("FORBIDDEN");
  });

  it("the dashboard, the alert rules and the README name only declared series", () => {
    const names = new Set(declared().map((f) => f.name));
    const histograms = new Set(
      declared()
        .filter((f) => f.type === "histogram")
        .map((f) => f.name),
    );
    const family = (series: string) => {
      const base = series.replace(/_(bucket|sum|count)$/, "");
      return histograms.has(base) ? base : series;
    };
    const referenced = (text: string) => [...text.matchAll(/\baegis_[a-z_]+/g)].map((m) => family(m[0]));

    const dashboard = JSON.parse(readFileSync(join(root, "deploy/grafana/aegis-dashboard.json"), "utf8"));
    const exprs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        for (const [k, v] of Object.entries(node)) {
          if (k === "expr" && typeof v === "string") exprs.push(v);
          else walk(v);
        }
      }
    };
    walk(dashboard);
    expect(exprs.length).toBeGreaterThan(8);
    const inDashboard = exprs.flatMap(referenced);
    expect(inDashboard.filter((n) => !names.has(n))).toEqual([]);

    const alerts = parseYaml(readFileSync(join(root, "deploy/prometheus/alerts.yaml"), "utf8"));
    const rules = alerts.groups.flatMap((g: Json) => g.rules) as Json[];
    expect(rules.length).toBeGreaterThan(5);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Aegis[A-Za-z0-9]+$/);
      expect(r.labels?.severity).toMatch(/^(warning|critical)$/);
      expect(r.annotations?.summary).toBeTruthy();
    }
    const inAlerts = rules.flatMap((r) => referenced(String(r.expr)));
    expect(inAlerts.length).toBeGreaterThan(0);
    expect(inAlerts.filter((n) => !names.has(n))).toEqual([]);

    const readme = readFileSync(join(root, "README.md"), "utf8");
    const start = readme.indexOf("\n## Metrics");
    expect(start, "README has a Metrics section").toBeGreaterThanOrEqual(0);
    const rest = readme.slice(start + 1);
    const end = rest.indexOf("\n## ");
    const documented = new Set(referenced(end === -1 ? rest : rest.slice(0, end)));
    expect(
      [...names].filter((n) => !documented.has(n)),
      "declared but not in the README",
    ).toEqual([]);
    expect(
      [...documented].filter((n) => !names.has(n)),
      "in the README but not declared",
    ).toEqual([]);
    // Every series is on the dashboard too.
    expect(
      [...names].filter((n) => !new Set(inDashboard).has(n)),
      "declared but on no panel",
    ).toEqual([]);
  });
});
