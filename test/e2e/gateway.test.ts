// The model gateway with the real Claude Code: credentials stay in Aegis, every request is metered
// exactly, rate-limit headers are kept, budgets stop a session mid-conversation, streams pass unbuffered.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { useModelForServers } from "../support/harness";
import type { ModelServer } from "../support/model-server";
import { until } from "../support/until";

type Json = Record<string, any>;
let model: ModelServer;
const aegisWith = useModelForServers((m) => {
  model = m;
});
const freshDir = () => mkdtempSync(join(tmpdir(), "aegis-gw-"));
const SONNET = "claude-sonnet-4-5-20250929";

async function toolOutput(aegis: TestAegis, id: string): Promise<string> {
  const t = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
  return t.body.items
    .filter((i: Json) => i.kind === "tool")
    .map((i: Json) => String(i.data.result))
    .join("\n");
}

/** A streamed Messages request through the gateway, as Claude Code sends one (tools make it a turn). */
function ask(aegis: TestAegis, token: string, content: string) {
  return gatewayCall(aegis, "/v1/messages", token, {
    model: SONNET,
    max_tokens: 100,
    stream: true,
    messages: [{ role: "user", content }],
    tools: [{ name: "noop", description: "noop", input_schema: { type: "object" } }],
  });
}

function gatewayCall(aegis: TestAegis, path: string, token: string, body: unknown, signal?: AbortSignal) {
  return fetch(`${aegis.url}/gateway${path}`, {
    method: "POST",
    headers: { "x-api-key": token, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

describe("model gateway", () => {
  it("forwards with the upstream key that Claude Code never sees, and meters exactly what the model reported", async () => {
    const upstreamKey = `sk-upstream-${randomBytes(8).toString("hex")}`;
    const aegis = await aegisWith({ logLevel: "trace" }, { ANTHROPIC_API_KEY: upstreamKey });
    model.script("gw-env", [
      {
        // `rev` gets the token past the transcript scrubber, so the test can use it below.
        toolUse: {
          name: "Bash",
          input: {
            command: 'env; echo "REV=$(printf %s "$ANTHROPIC_API_KEY" | rev)"',
            description: "show the environment",
          },
        },
        usage: {
          input_tokens: 1000,
          output_tokens: 50,
          cache_read_input_tokens: 300,
          cache_creation_input_tokens: 20,
          cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 10 },
        },
      },
      { text: "I saw it.", usage: { input_tokens: 1200, output_tokens: 30, cache_read_input_tokens: 400 } },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: freshDir(),
      prompt: "gw-env: show me the environment",
      allowedTools: ["Bash"],
      model: SONNET,
    });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await sse.waitTurnsEnded(1);

    const env = await toolOutput(aegis, id);
    expect(env).toContain(`ANTHROPIC_BASE_URL=${aegis.url}/gateway`);
    // The session's own gateway token reached Claude Code, but is scrubbed from what Aegis records.
    expect(env).toContain("ANTHROPIC_API_KEY=[redacted]");
    expect(env).not.toMatch(/aegis-gw-[A-Za-z0-9_-]{10}/);
    expect(sse.events.some((e) => /aegis-gw-[A-Za-z0-9_-]{10}/.test(JSON.stringify(e.data)))).toBe(false);
    expect(env).not.toContain(upstreamKey);
    const turns = model.turnRequests("gw-env");
    expect(turns).toHaveLength(2);
    for (const r of model.requests) expect(r.headers["x-api-key"]).toBe(upstreamKey);

    const metered = sse.of("gateway.request_metered").map((e) => e.data.data);
    expect(metered.map((m) => [m.model, m.outcome, m.status, m.inputTokens, m.outputTokens])).toEqual([
      [SONNET, "ok", 200, 1000, 50],
      [SONNET, "ok", 200, 1200, 30],
    ]);
    expect(metered[0].ttftMs).toBeGreaterThan(0);
    expect(metered[0].latencyMs).toBeGreaterThanOrEqual(metered[0].ttftMs);

    const tokens = await aegis.api<Json>("GET", "/v1/analytics/tokens");
    expect(tokens.body.byModel).toEqual([
      { model: SONNET, requests: 2, input: 2200, output: 80, cacheRead: 700, cacheWrite: 20 },
    ]);
    // What Claude Code reported for the turn agrees with what the gateway metered.
    const m = await aegis.api<Json>("GET", `/v1/sessions/${id}/metrics`);
    expect(m.body.tokens).toEqual({ input: 2200, output: 80, cacheRead: 700, cacheWrite: 20 });
    const costs = await aegis.api<Json>("GET", "/v1/analytics/costs");
    // Sonnet 4.5 per MTok: $3 input, $15 output, $0.30 cache read, $3.75 5m write, $6 1h write.
    const expected = (2200 * 3 + 80 * 15 + 700 * 0.3 + 10 * 3.75 + 10 * 6) / 1e6;
    expect(costs.body.byModel).toEqual([{ model: SONNET, requests: 2, costUsd: expect.closeTo(expected, 9) }]);

    // Neither credential is ever logged.
    const token = [...(/REV=(\S+)/.exec(env)?.[1] ?? "")].reverse().join("");
    expect(token).toMatch(/^aegis-gw-/);
    expect(aegis.logs.length).toBeGreaterThan(5);
    expect(aegis.logs.filter((l) => l.includes(upstreamKey) || l.includes(token))).toEqual([]);

    // The session's token works while the session lives, and not after.
    const count = { model: SONNET, messages: [{ role: "user", content: "hi" }] };
    expect((await gatewayCall(aegis, "/v1/messages/count_tokens", token, count)).status).toBe(200);
    await aegis.api("DELETE", `/v1/sessions/${id}`);
    const after = await gatewayCall(aegis, "/v1/messages/count_tokens", token, count);
    expect(after.status).toBe(401);
    sse.close();
  });

  it("answers a bad or missing token with 401 in Anthropic's error shape, and other paths with 404", async () => {
    const aegis = await aegisWith();
    const bad = await gatewayCall(aegis, "/v1/messages", "aegis-gw-not-a-real-token", { model: SONNET });
    expect(bad.status).toBe(401);
    const body = (await bad.json()) as Json;
    expect(body).toEqual({
      type: "error",
      error: { type: "authentication_error", message: expect.stringContaining("GATEWAY_TOKEN_INVALID") },
    });
    const none = await fetch(`${aegis.url}/gateway/v1/messages`, { method: "POST", body: "{}" });
    expect(none.status).toBe(401);
    expect(((await none.json()) as Json).error.type).toBe("authentication_error");
    // An admin API key is not a gateway token.
    expect((await gatewayCall(aegis, "/v1/messages", aegis.adminToken, {})).status).toBe(401);
    expect(model.requests.filter((r) => r.headers["x-api-key"] === "aegis-gw-not-a-real-token")).toHaveLength(0);

    const s = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
    const token = aegis.app.gateway?.tokens.issue({ sessionId: s.body.id, tenant: "default", ownerKeyId: null }) ?? "";
    const other = await gatewayCall(aegis, "/v1/files", token, {});
    expect(other.status).toBe(404);
    expect(((await other.json()) as Json).error).toMatchObject({ type: "not_found_error" });
    for (const method of ["GET", "HEAD"]) {
      const hello = await fetch(`${aegis.url}/gateway/api/hello`, { method, headers: { "x-api-key": token } });
      expect(hello.status, method).toBe(200);
      // The model API's own answer: no browser security headers added on the way.
      expect(hello.headers.get("content-security-policy"), method).toBeNull();
      expect(hello.headers.get("x-content-type-options"), method).toBeNull();
    }
    // A request that reaches Fastify instead of the server's gateway-first listener (inject(), or a
    // second address bound for `localhost`) is served by the same gateway through a fallback route.
    const injected = await aegis.app.http.inject({
      method: "GET",
      url: "/gateway/api/hello",
      headers: { "x-api-key": token },
    });
    expect(injected.statusCode).toBe(200);
    expect(injected.headers["content-security-policy"]).toBeUndefined();
    const injectedBad = await aegis.app.http.inject({
      method: "POST",
      url: "/gateway/v1/messages",
      headers: { "x-api-key": "aegis-gw-nope", "content-type": "application/json" },
      payload: JSON.stringify({ model: SONNET }),
    });
    expect(injectedBad.statusCode).toBe(401);
    expect(injectedBad.json().error.type).toBe("authentication_error");
    const huge = await gatewayCall(aegis, "/v1/messages", token, { pad: "x".repeat(33 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as Json).error.type).toBe("request_too_large");
    // An odd request (QUERY, no content type) is the gateway's to answer, not a framework's: a 4xx in
    // the Anthropic shape, never a 500.
    const odd = await request(`${aegis.url}/gateway/api/hello`, {
      method: "QUERY" as "GET",
      headers: { "x-api-key": token },
    });
    expect(odd.statusCode).toBe(404);
    expect(((await odd.body.json()) as Json).error.type).toBe("not_found_error");
    const oddAnon = await request(`${aegis.url}/gateway/api/hello`, { method: "QUERY" as "GET" });
    expect(oddAnon.statusCode).toBe(401);
    expect(((await oddAnon.body.json()) as Json).error.type).toBe("authentication_error");
    await aegis.api("DELETE", `/v1/sessions/${s.body.id}`);
  });

  it("counts bad gateway tokens as failed authentications: audited, then 429 with Retry-After", async () => {
    const aegis = await aegisWith({ "auth.maxFailuresPerMinute": 3 });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await gatewayCall(aegis, "/v1/messages", `not-a-token-${i}`, {})).status);
    expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
    const locked = await gatewayCall(aegis, "/v1/messages", "not-a-token", {});
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await locked.json()) as Json).error.type).toBe("rate_limit_error");
    const audit = await aegis.api<Json>("GET", "/v1/audit?action=auth.failed");
    expect(
      audit.body.items.filter((r: Json) => r.params.reason === "invalid gateway token").length,
    ).toBeGreaterThanOrEqual(3);
    // Every local Claude Code shares this address: a live session's token still passes while
    // guesses from it are refused.
    const s = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
    const token = aegis.app.gateway?.tokens.issue({ sessionId: s.body.id, tenant: "default", ownerKeyId: null }) ?? "";
    const count = { model: SONNET, messages: [{ role: "user", content: "hi" }] };
    expect((await gatewayCall(aegis, "/v1/messages/count_tokens", token, count)).status).toBe(200);
    expect((await gatewayCall(aegis, "/v1/messages/count_tokens", "not-a-token", count)).status).toBe(429);
    await aegis.api("DELETE", `/v1/sessions/${s.body.id}`);
  });

  it("writes an answer's record shortly after it, but before the next budget check, the turn's end, or a stop", async () => {
    const aegis = await aegisWith({ "budgets.session": { tokens: 1000 } });
    const s = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
    const token = aegis.app.gateway?.tokens.issue({ sessionId: s.body.id, tenant: "default", ownerKeyId: null }) ?? "";
    model.script("gw-deferred", [
      { text: "spent it all", usage: { input_tokens: 990, output_tokens: 20 } },
      { text: "no" },
    ]);
    const first = await ask(aegis, token, "gw-deferred: hi");
    expect(first.status).toBe(200);
    await first.text();
    // Right after the answer: its record is not written yet, and the next request still counts it.
    const second = await ask(aegis, token, "gw-deferred: hi");
    expect(second.status).toBe(402);
    expect(((await second.json()) as Json).error.message).toContain("budgets.session.tokens");
    const summary = await aegis.api<Json>("GET", "/v1/analytics/summary");
    expect(summary.body.gateway).toMatchObject({ requests: 2, refused: 1 });

    // Left to its timer, a record still measures the request to the answer's end, not to its write.
    const other = await aegisWith();
    const o = await other.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
    const t2 = other.app.gateway?.tokens.issue({ sessionId: o.body.id, tenant: "default", ownerKeyId: null }) ?? "";
    const sse = SseClient.admin(other, `${other.url}/v1/sessions/${o.body.id}/events`);
    model.script("gw-flush-later", [
      { text: "recorded later", usage: { input_tokens: 5, output_tokens: 2 } },
      { text: "recorded at stop", usage: { input_tokens: 7, output_tokens: 3 } },
    ]);
    const call = () => ask(other, t2, "gw-flush-later: hi");
    const t0 = performance.now();
    await (await call()).text();
    const seen = performance.now() - t0;
    const metered = await sse.waitForType("gateway.request_metered");
    expect(metered.data.data.inputTokens).toBe(5);
    expect(metered.data.data.latencyMs).toBeLessThanOrEqual(seen);
    sse.close();

    // Without a budget check or a turn's end, a stop writes what is pending before the database closes.
    await (await call()).text();
    await other.app.gateway?.close();
    const rows = (await other.app.db
      .withTables<{ model_requests: { id: number; session_id: string; input_tokens: number } }>()
      .selectFrom("model_requests")
      .select(["session_id", "input_tokens"])
      .orderBy("id")
      .execute()) as Array<{ session_id: string; input_tokens: number }>;
    expect(rows).toEqual([
      { session_id: o.body.id, input_tokens: 5 },
      { session_id: o.body.id, input_tokens: 7 },
    ]);
  });

  it("streams the answer through as it comes (no buffering) and cancels upstream when the client leaves", async () => {
    const aegis = await aegisWith();
    const s = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
    const token = aegis.app.gateway?.tokens.issue({ sessionId: s.body.id, tenant: "default", ownerKeyId: null }) ?? "";
    // The model sends message_start, then stalls: a buffering proxy would never answer.
    model.script("gw-stall", [{ text: "never finished", delayMs: 30_000 }]);
    const abort = new AbortController();
    const res = await gatewayCall(
      aegis,
      "/v1/messages?beta=true",
      token,
      {
        model: SONNET,
        max_tokens: 5000,
        stream: true,
        messages: [{ role: "user", content: "gw-stall: hi" }],
        tools: [{ name: "noop", description: "noop", input_schema: { type: "object" } }],
      },
      abort.signal,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain("message_start");
    abort.abort();
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.body.id}/events`);
    const metered = await sse.waitForType("gateway.request_metered");
    expect(metered.data.data).toMatchObject({ outcome: "aborted", model: SONNET });
    sse.close();
    await aegis.api("DELETE", `/v1/sessions/${s.body.id}`);
  });

  it("streams the request body upstream as it arrives, and cuts off one that runs over the size limit", async () => {
    // An upstream of our own that notes when a request's head arrives, to see the body is not held back.
    const seen: Array<{ headAt: number; body?: string }> = [];
    const upstream = createServer((req, res) => {
      const r: { headAt: number; body?: string } = { headAt: performance.now() };
      seen.push(r);
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        r.body = Buffer.concat(parts).toString("utf8");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ type: "message", model: SONNET, usage: { input_tokens: 3, output_tokens: 1 } }));
      });
      req.on("error", () => res.destroy());
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    try {
      const port = (upstream.address() as AddressInfo).port;
      const aegis = await aegisWith({ "gateway.upstream.baseUrl": `http://127.0.0.1:${port}` });
      const s = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
      const token =
        aegis.app.gateway?.tokens.issue({ sessionId: s.body.id, tenant: "default", ownerKeyId: null }) ?? "";
      const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.body.id}/events`);

      const first = `{"model":"${SONNET}","max_tokens":5,"messages":[`;
      const rest = `{"role":"user","content":"streamed body"}]}`;
      let sendRest: () => void = () => {};
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(first));
          sendRest = () => {
            c.enqueue(new TextEncoder().encode(rest));
            c.close();
          };
        },
      });
      const answer = fetch(`${aegis.url}/gateway/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": token, "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit);
      // The upstream has the request while the client still holds back the end of its body.
      await until("the upstream to see the request before its body ends", async () =>
        seen.length === 1 ? true : undefined,
      );
      const restSentAt = performance.now();
      sendRest();
      const res = await answer;
      expect(res.status).toBe(200);
      expect(seen[0]?.headAt).toBeLessThan(restSentAt);
      expect(seen[0]?.body).toBe(first + rest);
      const ok = await sse.waitForType("gateway.request_metered");
      expect(ok.data.data).toMatchObject({ outcome: "ok", status: 200, inputTokens: 3 });

      // Chunked, so no content-length warns of it: cut off on the way once past 32 MiB.
      const mib = new Uint8Array(1024 * 1024).fill(120);
      let sent = 0;
      const huge = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ < 80) c.enqueue(mib);
          else c.close();
        },
      });
      const tooBig = await fetch(`${aegis.url}/gateway/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": token, "content-type": "application/json" },
        body: huge,
        duplex: "half",
      } as RequestInit).catch((err: Error & { cause?: { code?: string } }) => err);
      // The answer is a 413 and the connection closes behind it; a client still writing its body can
      // see the close (EPIPE, reset) before it reads the answer. Either way the server read no further.
      if (tooBig instanceof Error) expect(["EPIPE", "ECONNRESET"]).toContain(tooBig.cause?.code);
      else {
        expect(tooBig.status).toBe(413);
        expect(((await tooBig.json()) as Json).error.type).toBe("request_too_large");
      }
      // Read no further than the limit and the sockets' buffers (a few MiB) hold: never the whole 80 MiB.
      expect(sent).toBeLessThan(60);
      const cut = await sse.waitForType("gateway.request_metered", (d) => d.status === 413);
      expect(cut.data.data).toMatchObject({ outcome: "error", errorType: "request_too_large", inputTokens: 0 });
      sse.close();
      await aegis.api("DELETE", `/v1/sessions/${s.body.id}`);
    } finally {
      upstream.close();
      upstream.closeAllConnections();
    }
  });

  it("keeps the model API's rate-limit headers and forecasts the turns that still fit", async () => {
    const aegis = await aegisWith();
    const reset = new Date(Date.now() + 3_600_000).toISOString();
    const limits = (requests: number) => ({
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": String(requests),
      "anthropic-ratelimit-requests-reset": reset,
      "anthropic-ratelimit-tokens-limit": "200000",
      "anthropic-ratelimit-tokens-remaining": "180000",
      "anthropic-ratelimit-tokens-reset": reset,
      "anthropic-ratelimit-input-tokens-limit": "150000",
      "anthropic-ratelimit-input-tokens-remaining": "140000",
      "anthropic-ratelimit-input-tokens-reset": reset,
      "anthropic-ratelimit-output-tokens-limit": "50000",
      "anthropic-ratelimit-output-tokens-remaining": "45000",
      "anthropic-ratelimit-output-tokens-reset": reset,
    });
    model.script("gw-limits", [
      {
        toolUse: { name: "Bash", input: { command: "true", description: "noop" } },
        usage: { input_tokens: 1000, output_tokens: 100 },
        headers: limits(42),
      },
      { text: "done", usage: { input_tokens: 1100, output_tokens: 50 }, headers: limits(41) },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: freshDir(),
      prompt: "gw-limits: go",
      allowedTools: ["Bash"],
    });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitTurnsEnded(1);
    const rl = await aegis.api<Json>("GET", "/v1/analytics/rate-limits");
    expect(rl.status).toBe(200);
    expect(rl.body).toMatchObject({
      requests: { limit: 50, remaining: 41, reset },
      tokens: { limit: 200000, remaining: 180000, reset },
      inputTokens: { limit: 150000, remaining: 140000, reset },
      outputTokens: { limit: 50000, remaining: 45000, reset },
      pace: {
        turnsSampled: 1,
        requestsPerTurn: 2,
        tokensPerTurn: 2250,
        inputTokensPerTurn: 2100,
        outputTokensPerTurn: 150,
      },
      // requests: 41 / 2 = 20; tokens: 180000 / 2250 = 80; input 66; output 300
      forecast: { turnsLeft: 20, limitedBy: "requests", resetsAt: reset },
    });
    expect(rl.body.observedAt).toEqual(expect.any(String));
    sse.close();
  });

  it("a session budget stops the session mid-conversation: budget_exceeded, event, audit record, clear error", async () => {
    const aegis = await aegisWith({ "budgets.session": { tokens: 1000 } });
    const script = model.script("gw-budget", [
      {
        toolUse: { name: "Bash", input: { command: "echo step one", description: "step one" } },
        usage: { input_tokens: 1000, output_tokens: 50 },
      },
      { text: "never reached" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: freshDir(),
      prompt: "gw-budget: two steps",
      allowedTools: ["Bash"],
    });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    const failed = await sse.waitForType("turn.failed");
    // The tool ran, then the next model request was refused before reaching the model.
    expect(sse.of("tool.completed")).toHaveLength(1);
    expect(script.requests).toHaveLength(1);
    expect(failed.data.data.message).toContain("Aegis budget exceeded");
    expect(failed.data.data.message).toContain("budgets.session.tokens");
    expect(failed.data.data.status).toBe(402);

    const exceeded = await sse.waitForType("budget.exceeded");
    expect(exceeded.data.data).toMatchObject({
      scope: "session",
      subject: id,
      unit: "tokens",
      limit: 1000,
      spent: 1050,
      window: "session",
    });
    await sse.waitForStatus("budget_exceeded");
    const s = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(s.body.status).toBe("budget_exceeded");
    const audit = await aegis.api<Json>("GET", `/v1/audit?action=budget.exceeded&sessionId=${id}`);
    expect(audit.status, JSON.stringify(audit.body)).toBe(200);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({ outcome: "denied", params: { scope: "session", unit: "tokens" } });
    expect(audit.body.items[0].error).toContain("Aegis budget exceeded");
    const transcript = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
    expect(transcript.body.items.at(-1)).toMatchObject({ kind: "error" });

    // A further prompt is tried, refused again without reaching the model, and the session stays blocked.
    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "gw-budget: once more" });
    await sse.waitFor((e) => e.event === "turn.failed" && sse.of("turn.failed").length === 2, 60_000, "second refusal");
    await sse.waitFor((e) => e.event === "budget.exceeded" && sse.of("budget.exceeded").length === 2);
    expect(script.requests).toHaveLength(1);
    expect((await aegis.api<Json>("GET", `/v1/sessions/${id}`)).body.status).toBe("budget_exceeded");
    const summary = await aegis.api<Json>("GET", "/v1/analytics/summary");
    expect(summary.body.gateway).toMatchObject({ requests: 3, refused: 2 });
    expect(summary.body.sessions.byStatus.budget_exceeded).toBe(1);
    expect((await aegis.api<Json>("DELETE", `/v1/sessions/${id}`)).body.status).toBe("stopped");
    sse.close();
  });

  it("key and tenant budgets count a window; an unpriced model counts tokens but never a made-up price", async () => {
    const aegis = await aegisWith({
      "budgets.keys": { "*": { usd: 0.001 } },
      "budgets.tenants": { acme: { tokens: 500 } },
      "budgets.window": "month",
    });
    const key = async (tenant: string) =>
      (await aegis.api<Json>("POST", "/v1/auth/keys", { name: `op-${tenant}`, role: "operator", tenant })).body;
    const run = async (marker: string, who: Json, modelName: string) => {
      model.script(marker, [
        {
          toolUse: { name: "Bash", input: { command: "true", description: "noop" } },
          usage: { input_tokens: 1000, output_tokens: 10 },
        },
        { text: "never reached" },
      ]);
      const created = await aegis.api<Json>(
        "POST",
        "/v1/sessions",
        { workDir: freshDir(), prompt: `${marker}: go`, allowedTools: ["Bash"], model: modelName },
        { authorization: `Bearer ${who.token}` },
      );
      const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
      const e = await sse.waitForType("budget.exceeded");
      sse.close();
      return e.data.data;
    };
    const op = await key("default");
    // Sonnet 4.5: 1000 input + 10 output tokens cost $0.00315, past the key's $0.001.
    const byKey = await run("gw-keybudget", op, SONNET);
    expect(byKey).toMatchObject({ scope: "key", subject: op.id, unit: "usd", limit: 0.001, window: "month" });
    expect(byKey.spent).toBeCloseTo(0.00315, 9);
    expect(byKey.resetsAt).toMatch(/-01T00:00:00.000Z$/);
    expect(byKey.message).toContain('budgets.keys."*".usd');

    // acme's key has the same $0.001 budget, but its model has no price: only the tenant's tokens stop it.
    const acme = await key("acme");
    const byTenant = await run("gw-tenantbudget", acme, "acme-model-1");
    expect(byTenant).toMatchObject({ scope: "tenant", subject: "acme", unit: "tokens", limit: 500, spent: 1010 });
    const costs = await aegis.api<Json>("GET", "/v1/analytics/costs");
    expect(costs.body.byModel).toContainEqual({ model: "acme-model-1", requests: 2, costUsd: null });
    expect(costs.body.byTenant).toContainEqual({ tenant: "acme", costUsd: 0, unpricedRequests: 1, requests: 2 });
  });

  it("reads upstream settings from the config, strips credentials from Claude Code's environment, and reports an unreachable upstream", async () => {
    const aegis = await aegisWith(
      { "gateway.upstream": { baseUrl: model.url, apiKey: "upstream-api-key", authToken: "upstream-bearer-token" } },
      {
        ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
        ANTHROPIC_API_KEY: "runtime-api-key",
        ANTHROPIC_AUTH_TOKEN: "runtime-bearer-token",
      },
    );
    model.script("gw-config", [
      { toolUse: { name: "Bash", input: { command: "env", description: "env" } } },
      { text: "configured" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: freshDir(),
      prompt: "gw-config: go",
      allowedTools: ["Bash"],
    });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitForType("message.completed", (d) => d.text === "configured");
    for (const r of model.turnRequests("gw-config")) {
      expect(r.headers.authorization).toBe("Bearer upstream-bearer-token");
      expect(r.headers["x-api-key"]).toBe("upstream-api-key");
    }
    const env = await toolOutput(aegis, created.body.id);
    expect(env).toContain("ANTHROPIC_API_KEY=[redacted]");
    expect(env).not.toContain("ANTHROPIC_AUTH_TOKEN");
    expect(env).not.toContain("runtime-bearer-token");
    expect(env).not.toContain("runtime-api-key");
    sse.close();

    const dead = await aegisWith({ "gateway.upstream.baseUrl": "http://127.0.0.1:9" });
    const s = await dead.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), prompt: "gw-dead: hi" });
    const deadSse = SseClient.admin(dead, `${dead.url}/v1/sessions/${s.body.id}/events`);
    const failed = await deadSse.waitForType("turn.failed");
    expect(failed.data.data.message).toContain("GATEWAY_UPSTREAM_UNREACHABLE");
    const summary = await dead.api<Json>("GET", "/v1/analytics/summary");
    expect(summary.body.gateway.errors).toBeGreaterThanOrEqual(1);
    // The record names the model the request asked for, kept short: the client chooses that name.
    const token = dead.app.gateway?.tokens.issue({ sessionId: s.body.id, tenant: "default", ownerKeyId: null }) ?? "";
    const long = await fetch(`${dead.url}/gateway/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": token, "content-type": "application/json" },
      body: JSON.stringify({ model: `claude-${"x".repeat(100_000)}`, max_tokens: 1, messages: [] }),
    });
    expect(long.status).toBe(502);
    const metered = await deadSse.waitForType("gateway.request_metered", (d) => String(d.model).startsWith("claude-x"));
    expect(metered.data.data.model).toHaveLength(200);
    expect(metered.data.data.model).toMatch(/…\[truncated\]$/);
    deadSse.close();
  });

  it.each([
    ["another endpoint", "gw-pin-url", { ANTHROPIC_BASE_URL: "MODEL" }],
    ["another provider", "gw-pin-bedrock", { CLAUDE_CODE_USE_BEDROCK: "1" }],
  ])("stays on the model path when the workDir's Claude Code settings name %s", async (_what, tag, env) => {
    const aegis = await aegisWith();
    model.script(tag, [{ text: "through the gateway" }]);
    const dir = freshDir();
    mkdirSync(join(dir, ".claude"));
    // A repository's settings try to send Claude Code's model requests somewhere else.
    const repoEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === "MODEL" ? model.url : v]));
    writeFileSync(join(dir, ".claude", "settings.json"), JSON.stringify({ env: repoEnv }));
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: `${tag}: hi` });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitForType("message.completed", (d) => d.text === "through the gateway");
    await sse.waitTurnsEnded(1);
    // Metered by the gateway, which sent it upstream with the server's key.
    expect(sse.of("gateway.request_metered").length).toBeGreaterThan(0);
    expect(model.turnRequests(tag)[0]?.headers["x-api-key"]).toBe("test-key");
    sse.close();
  });

  it("turned off: sessions talk to the model directly and nothing is mounted at /gateway", async () => {
    const aegis = await aegisWith({ "gateway.enabled": false });
    model.script("gw-off", [{ text: "direct answer", usage: { input_tokens: 77, output_tokens: 7 } }]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), prompt: "gw-off: hi" });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitForType("message.completed", (d) => d.text === "direct answer");
    await sse.waitTurnsEnded(1);
    expect(model.turnRequests("gw-off")[0]?.headers["x-api-key"]).toBe("test-key");
    expect(sse.of("gateway.request_metered")).toHaveLength(0);
    const tokens = await aegis.api<Json>("GET", "/v1/analytics/tokens");
    expect(tokens.body.total.requests).toBe(0);
    expect(tokens.body.claudeCode).toMatchObject({ input: 77, output: 7 });
    const gone = await aegis.api<Json>("POST", "/gateway/v1/messages", {});
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("ROUTE_NOT_FOUND");
    sse.close();
  });

  it("refuses to start with budgets but no gateway to enforce them", async () => {
    await expect(startAegis(model.url, { "gateway.enabled": false, "budgets.session": { usd: 1 } })).rejects.toThrow(
      /Budgets are configured but the model gateway is off/,
    );
  });
});
