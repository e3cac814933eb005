// Access control: keys and roles, SSE tokens, rate limits and hardening, over the real server.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { type ModelServer, startModelServer } from "../support/model-server";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;
const servers: TestAegis[] = [];
const metricsToken = `metrics-${"m".repeat(24)}`;

beforeAll(async () => {
  model = await startModelServer();
  aegis = await startAegis(model.url, {
    "limits.concurrentSessionsPerKey": 2,
    "limits.sseConnectionsPerKey": 2,
    "metrics.token": metricsToken,
  });
  servers.push(aegis);
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await model?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const freshDir = () => mkdtempSync(join(tmpdir(), "aegis-auth-"));
/** Whether the server ends the stream within `ms`. */
const endsWithin = (c: SseClient, ms: number) =>
  Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

async function newKey(body: Record<string, unknown>, as = aegis.adminToken) {
  const res = await aegis.api<Json>("POST", "/v1/auth/keys", body, bearer(as));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; token: string; role: string; tenant: string };
}

describe("authentication", () => {
  it("refuses requests without a key, with a bad key, or with a key in the URL", async () => {
    const none = await aegis.api<Json>("GET", "/v1/sessions", undefined, { authorization: "" });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("AUTH_REQUIRED");
    const bad = await aegis.api<Json>(
      "GET",
      "/v1/sessions",
      undefined,
      bearer("aegis_key_01aaaaaaaaaaaaaaaaaaaaaaaa_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    );
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe("INVALID_API_KEY");
    const malformed = await aegis.api<Json>("GET", "/v1/sessions", undefined, { authorization: "Basic abc" });
    expect(malformed.status).toBe(401);
    // A header of the wrong form says which form is wanted, not that the key is unknown.
    expect(malformed.body.error.message).toMatch(/must read `Bearer <key>`/);
    const inQuery = await aegis.api<Json>("GET", `/v1/sessions?api_key=${aegis.adminToken}`);
    expect(inQuery.status).toBe(400);
    expect(inQuery.body.error.code).toBe("KEY_IN_QUERY");
    expect(JSON.stringify(inQuery.body)).not.toContain(aegis.adminToken);
  });

  it("keeps health, the OpenAPI document and the docs public", async () => {
    const open = { authorization: "" };
    expect((await aegis.api("GET", "/v1/health", undefined, open)).status).toBe(200);
    expect((await aegis.api("GET", "/v1/openapi.json", undefined, open)).status).toBe(200);
    expect((await fetch(`${aegis.url}/docs`)).status).toBe(200);
    expect((await aegis.api("GET", "/v1/ready", undefined, open)).status).toBe(401);
  });

  it("lets the metrics token read /metrics and /v1/ready, and nothing else", async () => {
    const opened: string[] = [];
    // Every route that asks for a permission (the others are public or check their own credentials).
    for (const r of aegis.app.http.routeAccess.filter((x) => x.permission !== null)) {
      const res = await fetch(aegis.url + r.url, { method: r.method, headers: bearer(metricsToken) });
      await res.body?.cancel();
      if (res.status === 403) continue;
      expect(r.permission, `${r.method} ${r.url} answered ${res.status}`).toBe("metrics.read");
      opened.push(`${r.method} ${r.url}`);
    }
    expect(opened.sort()).toEqual(["GET /metrics", "GET /v1/ready"]);
  });

  it("creates keys whose token is shown once and stored only as a hash", async () => {
    const op = await newKey({ name: "ci bot", role: "operator" });
    expect(op.token).toMatch(/^aegis_key_/);
    expect(op).toMatchObject({ role: "operator", tenant: "default", revokedAt: null });
    const who = await aegis.api<Json>("GET", "/v1/auth/whoami", undefined, bearer(op.token));
    expect(who.body).toMatchObject({ keyId: op.id, role: "operator", tenant: "default", via: "api_key" });
    expect(who.body.permissions).toContain("session.create");
    expect(who.body.permissions).not.toContain("key.manage");
    const list = await aegis.api<Json>("GET", "/v1/auth/keys");
    const listed = list.body.items.find((k: Json) => k.id === op.id);
    expect(listed.name).toBe("ci bot");
    expect(listed.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list.body)).not.toContain(op.token.slice(-20));
    const row = aegis.app.db.withTables<{ api_keys: { id: string; secret_hash: string } }>();
    const stored = await row.selectFrom("api_keys").selectAll().where("id", "=", op.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(op.token.slice(-20));
    expect(stored.secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("enforces roles and scopes", async () => {
    const viewer = await newKey({ name: "dash", role: "viewer" });
    const op = await newKey({ name: "op", role: "operator" });
    const scoped = await newKey({ name: "reader", role: "operator", scopes: ["session.read"] });
    const create = { workDir: freshDir(), reuse: false };
    expect((await aegis.api<Json>("POST", "/v1/sessions", create, bearer(viewer.token))).body.error.code).toBe(
      "FORBIDDEN",
    );
    expect((await aegis.api<Json>("POST", "/v1/sessions", create, bearer(scoped.token))).status).toBe(403);
    expect((await aegis.api<Json>("GET", "/v1/sessions", undefined, bearer(scoped.token))).status).toBe(200);
    expect(
      (await aegis.api<Json>("POST", "/v1/auth/keys", { name: "x", role: "viewer" }, bearer(op.token))).status,
    ).toBe(403);
    expect((await aegis.api<Json>("GET", "/v1/auth/keys", undefined, bearer(op.token))).status).toBe(403);
    const beyond = await aegis.api<Json>("POST", "/v1/auth/keys", {
      name: "x",
      role: "viewer",
      scopes: ["key.manage"],
    });
    expect(beyond.body.error.code).toBe("SCOPE_BEYOND_ROLE");
  });

  it("lets a key manage only keys within its own permissions: no minting or taking over a wider one", async () => {
    const manager = await newKey({ name: "key-manager", role: "admin", scopes: ["key.manage"] });
    const wide = await newKey({ name: "wide-admin", role: "admin" });
    const as = bearer(manager.token);
    for (const body of [
      { name: "escalated", role: "admin" },
      { name: "op", role: "operator", scopes: ["session.create"] },
      { name: "v", role: "viewer" },
    ]) {
      const res = await aegis.api<Json>("POST", "/v1/auth/keys", body, as);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(res.body.error.code).toBe("KEY_BEYOND_CALLER");
    }
    const rotate = await aegis.api<Json>("POST", `/v1/auth/keys/${wide.id}/rotate`, { gracePeriodSeconds: 0 }, as);
    expect(rotate.status).toBe(403);
    expect(rotate.body.token).toBeUndefined();
    expect((await aegis.api<Json>("DELETE", `/v1/auth/keys/${wide.id}`, undefined, as)).status).toBe(403);
    // The wide key still works: nothing was taken over.
    expect((await aegis.api("GET", "/v1/audit", undefined, bearer(wide.token))).status).toBe(200);
    // Within its own permissions it manages keys as before.
    const peer = await aegis.api<Json>(
      "POST",
      "/v1/auth/keys",
      { name: "peer", role: "admin", scopes: ["key.manage"] },
      as,
    );
    expect(peer.status).toBe(201);
    expect(
      (await aegis.api<Json>("POST", `/v1/auth/keys/${peer.body.id}/rotate`, { gracePeriodSeconds: 0 }, as)).status,
    ).toBe(200);
    expect((await aegis.api<Json>("DELETE", `/v1/auth/keys/${peer.body.id}`, undefined, as)).status).toBe(200);
  });

  it("revokes, rotates with a grace period, and expires keys", async () => {
    const k = await newKey({ name: "rotating", role: "viewer" });
    const rotated = await aegis.api<Json>("POST", `/v1/auth/keys/${k.id}/rotate`, { gracePeriodSeconds: 60 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.token).not.toBe(k.token);
    expect((await aegis.api("GET", "/v1/auth/whoami", undefined, bearer(k.token))).status).toBe(200);
    expect((await aegis.api("GET", "/v1/auth/whoami", undefined, bearer(rotated.body.token))).status).toBe(200);
    const again = await aegis.api<Json>("POST", `/v1/auth/keys/${k.id}/rotate`, { gracePeriodSeconds: 0 });
    expect((await aegis.api("GET", "/v1/auth/whoami", undefined, bearer(rotated.body.token))).status).toBe(401);
    expect((await aegis.api("GET", "/v1/auth/whoami", undefined, bearer(again.body.token))).status).toBe(200);

    const revoked = await aegis.api<Json>("DELETE", `/v1/auth/keys/${k.id}`);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await aegis.api("GET", "/v1/auth/whoami", undefined, bearer(again.body.token))).status).toBe(401);
    expect((await aegis.api<Json>("DELETE", "/v1/auth/keys/key_01aaaaaaaaaaaaaaaaaaaaaaaa")).body.error.code).toBe(
      "KEY_NOT_FOUND",
    );

    const short = await newKey({ name: "short", role: "viewer", expiresInSeconds: 1 });
    expect((await aegis.api("GET", "/v1/auth/whoami", undefined, bearer(short.token))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await aegis.api("GET", "/v1/auth/whoami", undefined, bearer(short.token))).status).toBe(401);
  });

  it("throttles a key past its request rate", async () => {
    const k = await newKey({ name: "slow", role: "viewer", rateLimitPerMinute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await aegis.api("GET", "/v1/auth/whoami", undefined, bearer(k.token))).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const res = await aegis.api<Json>("GET", "/v1/auth/whoami", undefined, bearer(k.token));
    expect(res.body.error.code).toBe("RATE_LIMITED");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("answers 429 with Retry-After after repeated auth failures from one address", async () => {
    const strict = await startAegis(model.url, { "auth.maxFailuresPerMinute": 3 });
    servers.push(strict);
    const codes: number[] = [];
    for (let i = 0; i < 6; i++)
      codes.push((await strict.api("GET", "/v1/sessions", undefined, bearer(`wrong-${i}`))).status);
    expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
    expect(codes.at(-1)).toBe(429);
    const locked = await strict.api<Json>("GET", "/v1/sessions", undefined, { authorization: "" });
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe("TOO_MANY_AUTH_FAILURES");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    // A live key still passes: bad keys from one address must not lock out everyone behind it.
    expect((await strict.api("GET", "/v1/sessions")).status).toBe(200);
    expect((await strict.api("GET", "/v1/sessions", undefined, bearer("wrong-again"))).status).toBe(429);
  });

  it("limits live sessions per key", async () => {
    const op = await newKey({ name: "limited", role: "operator" });
    for (let i = 0; i < 2; i++) {
      expect(
        (await aegis.api("POST", "/v1/sessions", { workDir: freshDir(), reuse: false }, bearer(op.token))).status,
      ).toBe(201);
    }
    const third = await aegis.api<Json>(
      "POST",
      "/v1/sessions",
      { workDir: freshDir(), reuse: false },
      bearer(op.token),
    );
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe("TOO_MANY_SESSIONS");
    const mine = await aegis.api<Json>("GET", "/v1/sessions", undefined, bearer(op.token));
    for (const s of mine.body.items) await aegis.api("DELETE", `/v1/sessions/${s.id}`, undefined, bearer(op.token));
  });

  it("refuses workDirs outside the allowed roots and denied env variables", async () => {
    const outside = await aegis.api<Json>("POST", "/v1/sessions", { workDir: "/" });
    expect(outside.body.error.code).toBe("WORKDIR_NOT_ALLOWED");
    const env = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), env: { LD_PRELOAD: "/x.so" } });
    expect(env.status).toBe(400);
    expect(env.body.error.code).toBe("ENV_NOT_ALLOWED");
    expect(env.body.error.message).toContain("LD_PRELOAD");
  });

  it("answers CORS only for the configured origins", async () => {
    const cors = await startAegis(model.url, { "security.corsOrigins": ["https://console.example.com"] });
    servers.push(cors);
    const allowed = await fetch(`${cors.url}/v1/health`, { headers: { origin: "https://console.example.com" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://console.example.com");
    const other = await fetch(`${cors.url}/v1/health`, { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("sets security headers and keeps CORS off by default", async () => {
    const res = await fetch(`${aegis.url}/v1/health`, { headers: { origin: "https://evil.example" } });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    // Errors carry them too (the headers are set before the route runs).
    const missing = await fetch(`${aegis.url}/v1/sessions/ses_missing`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("SSE tokens", () => {
  it("are single-use, short-lived and carry the minting key's identity", async () => {
    const a = await newKey({ name: "op-a", role: "operator" });
    const b = await newKey({ name: "op-b", role: "operator" });
    model.script("auth-sse", [{ text: "hello a" }]);
    const s = await aegis.api<Json>(
      "POST",
      "/v1/sessions",
      { workDir: freshDir(), prompt: "auth-sse: hi", reuse: false },
      bearer(a.token),
    );
    const mint = async (token: string) =>
      (await aegis.api<Json>("POST", "/v1/auth/sse-token", undefined, bearer(token))).body;
    const t1 = await mint(a.token);
    expect(t1.expiresInSeconds).toBeLessThanOrEqual(60);
    const ok = new SseClient(`${aegis.url}/v1/sessions/${s.body.id}/events?sse_token=${t1.token}`);
    await ok.waitForType("message.completed");
    ok.close();
    const reused = await fetch(`${aegis.url}/v1/sessions/${s.body.id}/events?sse_token=${t1.token}`);
    expect(reused.status).toBe(401);
    expect(((await reused.json()) as Json).error.code).toBe("SSE_TOKEN_INVALID");
    // b's token has b's rights: a's session does not exist for b
    const tb = await mint(b.token);
    const other = await fetch(`${aegis.url}/v1/sessions/${s.body.id}/events?sse_token=${tb.token}`);
    expect(other.status).toBe(404);
    // b's all-sessions stream shows none of a's events
    const tb2 = await mint(b.token);
    const all = new SseClient(`${aegis.url}/v1/events?after=0&sse_token=${tb2.token}`);
    const snap = await all.waitForType("sessions.snapshot", () => true);
    expect((snap.data as Json[]).map((x) => x.id)).not.toContain(s.body.id);
    await new Promise((r) => setTimeout(r, 300));
    expect(all.events.filter((e) => e.data.sessionId === s.body.id)).toHaveLength(0);
    all.close();
    // an SSE token opens streams only
    const tb3 = await mint(b.token);
    expect((await fetch(`${aegis.url}/v1/sessions?sse_token=${tb3.token}`)).status).toBe(400);
    await aegis.api("DELETE", `/v1/sessions/${s.body.id}`);
  });

  it("die with their key: revocation ends its open streams at once and voids its unspent tokens", async () => {
    const k = await newKey({ name: "revoked streamer", role: "viewer" });
    const other = await newKey({ name: "bystander", role: "viewer" });
    const mint = async (token: string) =>
      (await aegis.api<Json>("POST", "/v1/auth/sse-token", undefined, bearer(token))).body.token as string;
    const viaHeader = new SseClient(`${aegis.url}/v1/events?after=999999999`, bearer(k.token));
    const viaToken = new SseClient(`${aegis.url}/v1/events?after=999999999&sse_token=${await mint(k.token)}`);
    const bystander = new SseClient(`${aegis.url}/v1/events?after=999999999`, bearer(other.token));
    for (const c of [viaHeader, viaToken, bystander]) await c.waitForType("sessions.snapshot", () => true);
    const unspent = await mint(k.token);

    expect((await aegis.api("DELETE", `/v1/auth/keys/${k.id}`)).status).toBe(200);
    // The heartbeat is 15 s here: only the revocation itself can end the streams this fast.
    expect(await endsWithin(viaHeader, 3000)).toBe(true);
    expect(await endsWithin(viaToken, 3000)).toBe(true);
    expect(await endsWithin(bystander, 300)).toBe(false);
    bystander.close();

    const late = await fetch(`${aegis.url}/v1/events?sse_token=${unspent}`);
    expect(late.status).toBe(401);
    expect(((await late.json()) as Json).error.code).toBe("SSE_TOKEN_INVALID");
  });

  it("expire", async () => {
    const quick = await startAegis(model.url, { "auth.sseTokenTtlSeconds": 1 });
    servers.push(quick);
    const t = (await quick.api<Json>("POST", "/v1/auth/sse-token")).body;
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(`${quick.url}/v1/events?sse_token=${t.token}`)).status).toBe(401);
  });

  it("limit open streams per key", async () => {
    const k = await newKey({ name: "streamer", role: "viewer" });
    const s1 = new SseClient(`${aegis.url}/v1/events?after=999999999`, bearer(k.token));
    const s2 = new SseClient(`${aegis.url}/v1/events?after=999999999`, bearer(k.token));
    await s1.waitForType("sessions.snapshot", () => true);
    await s2.waitForType("sessions.snapshot", () => true);
    const third = await fetch(`${aegis.url}/v1/events`, { headers: bearer(k.token) });
    expect(third.status).toBe(429);
    expect(((await third.json()) as Json).error.code).toBe("TOO_MANY_STREAMS");
    s1.close();
    s2.close();
  });
});
