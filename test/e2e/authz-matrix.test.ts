// The authorization matrix, generated from the server's own route table: every route x caller x
// session ownership gives the status the permission matrix and the ownership rule predict. The
// model gateway (/gateway/*) answers to a session's gateway token alone, never to an API key.
import { mkdtempSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  canActOnSession,
  canReadSession,
  hasPermission,
  type Permission,
  type Principal,
  type Role,
} from "../../src/auth";
import type { RouteAccess } from "../../src/http/auth";
import { startAegis, type TestAegis } from "../support/aegis";
import { type ModelServer, startModelServer } from "../support/model-server";

type Json = Record<string, any>;
interface Who {
  name: string;
  token: string | null;
  role: Role | null;
  scopes: Permission[] | null;
  tenant: string;
  keyId: string;
}
interface Target {
  name: string;
  id: string;
  tenant: string;
  owner: Who;
  dir: string;
}

let model: ModelServer;
let aegis: TestAegis;
const callers: Who[] = [];
let approvalOfA = "";
const targets: Target[] = [];
const tenants = (t: string) => ({ shareSessions: t === "team" });
const METRICS_TOKEN = `matrix-metrics-${"m".repeat(24)}`;

async function key(name: string, role: Role, tenant: string, scopes: Permission[] | null = null): Promise<Who> {
  const res = await aegis.api<Json>("POST", "/v1/auth/keys", { name, role, tenant, ...(scopes ? { scopes } : {}) });
  expect(res.status).toBe(201);
  return { name, token: res.body.token, role, scopes, tenant, keyId: res.body.id };
}

async function session(name: string, owner: Who): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), `aegis-mx-${name}-`));
  const res = await aegis.api<Json>(
    "POST",
    "/v1/sessions",
    { workDir: dir, reuse: false },
    { authorization: `Bearer ${owner.token}` },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await waitStatus(res.body.id, "idle");
  return { name, id: res.body.id, tenant: owner.tenant, owner, dir };
}

async function waitStatus(id: string, status: string) {
  for (let i = 0; i < 300; i++) {
    const s = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    if (s.body.status === status) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${id} never became ${status}`);
}

beforeAll(async () => {
  model = await startModelServer();
  aegis = await startAegis(model.url, {
    "auth.tenants": { team: { shareSessions: true } },
    // anonymous calls are part of the matrix; keep them from locking the address out
    "auth.maxFailuresPerMinute": 100_000,
    "metrics.token": METRICS_TOKEN,
  });
  const opA = await key("opA", "operator", "default");
  const opB = await key("opB", "operator", "default");
  const viewer = await key("viewer", "viewer", "default");
  const opOther = await key("opOther", "operator", "other");
  const viewerOther = await key("viewerOther", "viewer", "other");
  const team1 = await key("team1", "operator", "team");
  const team2 = await key("team2", "operator", "team");
  // An operator key narrowed to reading: no metrics.read, no session.control.
  const reader = await key("reader", "operator", "default", ["session.read", "event.read"]);
  callers.push(
    { name: "anonymous", token: null, role: null, scopes: null, tenant: "default", keyId: "" },
    { name: "admin", token: aegis.adminToken, role: "admin", scopes: null, tenant: "default", keyId: "bootstrap" },
    // The metrics token reads metrics.read routes (/metrics, /v1/ready) and nothing else.
    {
      name: "metrics token",
      token: METRICS_TOKEN,
      role: "viewer",
      scopes: ["metrics.read"],
      tenant: "default",
      keyId: "metrics",
    },
    opA,
    opB,
    viewer,
    opOther,
    viewerOther,
    team2,
    reader,
  );
  targets.push(await session("A", opA), await session("team", team1));
  approvalOfA = await settledApproval(targets[0]!);
});

/** An approval in the target's session, decided already, so deciding it again changes nothing. */
async function settledApproval(t: Target): Promise<string> {
  model.script(`matrix-approval-${t.id}`, [
    { toolUse: { name: "Write", input: { file_path: join(t.dir, "x.txt"), content: "x" } } },
    { text: "ok" },
  ]);
  const as = { authorization: `Bearer ${t.owner.token}` };
  await aegis.api("POST", `/v1/sessions/${t.id}/messages`, { text: `matrix-approval-${t.id}` }, as);
  for (let i = 0; i < 300; i++) {
    const s = await aegis.api<Json>("GET", `/v1/sessions/${t.id}`);
    const pending = s.body.pendingApprovals?.[0];
    if (pending) {
      await aegis.api("POST", `/v1/approvals/${pending.id}`, { decision: "reject_once" }, as);
      await waitStatus(t.id, "idle");
      return pending.id;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no approval appeared");
}
afterAll(async () => {
  await aegis?.close();
  await model?.close();
});

const principal = (w: Who): Principal => ({
  keyId: w.keyId,
  name: w.name,
  role: w.role as Role,
  tenant: w.tenant,
  scopes: w.scopes,
  rateLimitPerMinute: null,
  via: "api_key",
});

const BODIES: Record<string, (t: Target | undefined) => unknown> = {
  "POST /v1/sessions": (t) => ({ workDir: t?.dir ?? tmpdir() }),
  "POST /v1/sessions/:id/messages": () => ({ text: "matrix check" }),
  "PATCH /v1/sessions/:id": () => ({ permissionMode: "default" }),
  "POST /v1/sessions/:id/approve": () => ({}),
  "POST /v1/sessions/:id/reject": () => ({}),
  "POST /v1/auth/keys": () => ({ name: "made in matrix", role: "viewer" }),
  "POST /v1/auth/keys/:id/rotate": () => ({}),
  "POST /v1/approvals/:id": () => ({ decision: "allow_once" }),
  "POST /v1/sessions/:id/answer": () => ({ answers: { "Which?": "A" } }),
  "POST /v1/hooks/installations": () => ({ name: "matrix" }),
  "PUT /v1/sessions/:id/policy": () => ({ rules: [] }),
  "PUT /v1/policies/default": () => ({ rules: [] }),
  "PUT /v1/policies/:type/:id": () => ({ rules: [] }),
  "POST /v1/policies/evaluate": () => ({ toolName: "Bash", input: { command: "ls" } }),
};

/** Sends one request; event streams are closed as soon as their status is known. */
async function call(r: RouteAccess, url: string, who: Who, body: unknown): Promise<number> {
  const ctrl = new AbortController();
  const res = await fetch(aegis.url + url, {
    method: r.method,
    signal: ctrl.signal,
    headers: {
      ...(who.token ? { authorization: `Bearer ${who.token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  ctrl.abort();
  return res.status;
}

describe("authorization matrix", () => {
  it("describes the docs pages as public, as they are", async () => {
    const docs = aegis.app.http.routeAccess.filter((r) => r.url.startsWith("/docs"));
    expect(docs.length).toBeGreaterThan(0);
    expect(docs.every((r) => r.public)).toBe(true);
    expect((await fetch(`${aegis.url}/docs`)).status).toBe(200);
  });

  it("every route x caller x session gives the predicted outcome, with no unexpected success", async () => {
    // Every route that answers to API keys: the /v1 API and /metrics (the gateway is checked below).
    const routes = aegis.app.http.routeAccess.filter((r) => r.url.startsWith("/v1") || r.url === "/metrics");
    expect(routes.length).toBeGreaterThan(15);
    expect(routes.filter((r) => r.url === "/metrics")).toMatchObject([
      { method: "GET", permission: "metrics.read", public: false },
    ]);
    const failures: string[] = [];
    let checked = 0;
    for (const r of routes) {
      // An approval is reached through its session: the same rule applies.
      const approvalRoute = r.url.startsWith("/v1/approvals/:id");
      const sessionRoute = r.url.startsWith("/v1/sessions/:id") || approvalRoute;
      const keyRoute = r.url.startsWith("/v1/auth/keys/:id");
      // Hook installations follow the sessions rule: their owner, an admin, or a sharing tenant's operators.
      const installRoute = r.url.startsWith("/v1/hooks/installations/:id");
      const destructive = `${r.method} ${r.url}` === "DELETE /v1/sessions/:id" || keyRoute;
      for (const who of callers) {
        for (const target of sessionRoute && !approvalRoute ? targets : [targets[0]]) {
          // Destructive calls get a target of their own, so one success does not change the next check.
          let t = target!;
          let url = r.url;
          if (sessionRoute && destructive) t = await session(`${target!.name}-kill`, target!.owner);
          if (approvalRoute) url = url.replace(":id", approvalOfA);
          else if (sessionRoute) url = url.replace(":id", t.id);
          if (installRoute) {
            const inst = await aegis.api<Json>("POST", "/v1/hooks/installations", { name: "victim" });
            url = url.replace(":id", inst.body.id);
          }
          if (keyRoute) {
            const victim = await key("victim", "viewer", "default");
            url = url.replace(":id", victim.keyId);
          }
          const body =
            BODIES[`${r.method} ${r.url}`]?.(t) ?? (r.method === "GET" || r.method === "DELETE" ? undefined : {});
          const status = await call(r, url, who, body);
          checked++;

          let expected: "allowed" | 401 | 403 | 404;
          if (r.public) expected = "allowed";
          else if (!who.role) expected = 401;
          else if (!r.permission || !hasPermission(who.role, who.scopes, r.permission)) expected = 403;
          else if (
            sessionRoute &&
            !canReadSession(principal(who), { tenant: t.tenant, ownerKeyId: t.owner.keyId }, tenants)
          )
            expected = 404;
          else if (
            sessionRoute &&
            r.permission === "session.control" &&
            !canActOnSession(principal(who), { tenant: t.tenant, ownerKeyId: t.owner.keyId }, tenants)
          )
            expected = 403;
          else if (
            installRoute &&
            // The victim installation is the admin's, in the default tenant: the sessions rule decides.
            !canActOnSession(principal(who), { tenant: "default", ownerKeyId: "bootstrap" }, tenants)
          )
            expected = 404;
          else expected = "allowed";

          // Public routes need no API key; some (hooks) check their own credentials instead.
          const ok = r.public
            ? status < 500
            : expected === "allowed"
              ? status < 500 && ![401, 403, 404].includes(status)
              : status === expected;
          if (!ok)
            failures.push(`${r.method} ${r.url} as ${who.name} on ${t.name}: got ${status}, expected ${expected}`);
          if (sessionRoute && destructive && expected !== "allowed") {
            const still = await aegis.api<Json>("GET", `/v1/sessions/${t.id}`);
            if (still.body.status === "stopped") failures.push(`${who.name} stopped ${t.name} without the right to`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });

  it("lists show exactly the sessions each caller may read", async () => {
    for (const who of callers.filter((c) => c.role && hasPermission(c.role, c.scopes, "session.read"))) {
      const res = await aegis.api<Json>("GET", "/v1/sessions?limit=200", undefined, {
        authorization: `Bearer ${who.token}`,
      });
      const ids = new Set(res.body.items.map((s: Json) => s.id));
      for (const t of targets) {
        const may = canReadSession(principal(who), { tenant: t.tenant, ownerKeyId: t.owner.keyId }, tenants);
        expect(ids.has(t.id), `${who.name} sees ${t.name}`).toBe(may);
      }
    }
  });

  it("/metrics is read by every role (viewer and up) and the metrics token, not by a key scoped without metrics.read", async () => {
    const outcome: Record<string, number> = {};
    for (const who of callers) {
      const res = await fetch(`${aegis.url}/metrics`, {
        headers: who.token ? { authorization: `Bearer ${who.token}` } : {},
      });
      const text = await res.text();
      outcome[who.name] = res.status;
      if (res.status === 200) expect(text).toContain("aegis_sessions");
    }
    expect(outcome).toEqual({
      anonymous: 401,
      admin: 200,
      "metrics token": 200,
      opA: 200,
      opB: 200,
      viewer: 200,
      opOther: 200,
      viewerOther: 200,
      team2: 200,
      reader: 403,
    });
  });

  it("the gateway answers only a live session's gateway token: every API key and server token is refused", async () => {
    const routes = aegis.app.http.routeAccess.filter((r) => r.url.startsWith("/gateway"));
    expect(routes.map((r) => r.method)).toEqual(expect.arrayContaining(["GET", "POST"]));
    const gatewayToken = await sessionGatewayToken(targets[0]!.owner);

    const failures: string[] = [];
    for (const r of routes) {
      // The forwarded paths; a valid token on any other method and path gets 404, not 401.
      const path = r.method === "POST" ? "/gateway/v1/messages/count_tokens" : "/gateway/api/hello";
      const body =
        r.method === "POST" ? { model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] } : undefined;
      for (const who of callers) {
        const credentials: Array<[string, Record<string, string>]> = who.token
          ? [
              ["x-api-key", { "x-api-key": who.token }],
              ["bearer", { authorization: `Bearer ${who.token}` }],
            ]
          : [["none", {}]];
        for (const [how, headers] of credentials) {
          const res = await rawCall(r.method, path, headers, body);
          const refused = res.status === 401 && res.body.includes('"authentication_error"');
          if (!refused) failures.push(`${r.method} ${path} as ${who.name} (${how}): got ${res.status}`);
        }
      }
      const own = await rawCall(r.method, path, { "x-api-key": gatewayToken }, body);
      const expected = r.method === "POST" || r.method === "GET" ? 200 : 404;
      if (own.status !== expected)
        failures.push(`${r.method} ${path} with the session's gateway token: got ${own.status}, expected ${expected}`);
    }
    expect(failures).toEqual([]);
  });
});

/** Any method (fetch refuses TRACE), any headers; the answer's status and text. */
function rawCall(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      aegis.url + path,
      {
        method,
        // Always a content type: Fastify refuses a QUERY request without one before the gateway sees it.
        headers: { "anthropic-version": "2023-06-01", "content-type": "application/json", ...headers },
      },
      (res) => {
        let text = "";
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body !== undefined ? JSON.stringify(body) : undefined);
  });
}

/** A gateway token as a session's Claude Code holds it: a fresh session shows its environment to a Bash call. */
async function sessionGatewayToken(owner: Who): Promise<string> {
  const marker = "matrix-gateway-token";
  model.script(marker, [
    {
      // Reversed, so the transcript's scrubbing of the session's own token lets it through.
      toolUse: {
        name: "Bash",
        input: { command: 'printf "REV=%s" "$(printf %s "$ANTHROPIC_API_KEY" | rev)"', description: "token" },
      },
    },
    { text: "done" },
  ]);
  const created = await aegis.api<Json>(
    "POST",
    "/v1/sessions",
    {
      workDir: mkdtempSync(join(tmpdir(), "aegis-mx-gw-")),
      prompt: `${marker}: show it`,
      allowedTools: ["Bash"],
      reuse: false,
    },
    { authorization: `Bearer ${owner.token}` },
  );
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  for (let i = 0; i < 600; i++) {
    const transcript = await aegis.api<Json>("GET", `/v1/sessions/${created.body.id}/transcript`);
    const out = transcript.body.items
      .filter((item: Json) => item.kind === "tool")
      .map((item: Json) => String(item.data.result))
      .join("\n");
    const rev = /REV=(\S+)/.exec(out)?.[1];
    if (rev) {
      const token = [...rev].reverse().join("");
      expect(token).toMatch(/^aegis-gw-/);
      return token;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the session never showed its gateway token");
}
