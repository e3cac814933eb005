// Bad input never yields a 500: every route in the OpenAPI document gets hostile input.
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAegis, type TestAegis } from "../support/aegis";

let aegis: TestAegis;
beforeAll(async () => {
  aegis = await startAegis("http://127.0.0.1:9", {
    "sessions.maxQueuedMessages": 5,
    // the sweep sends thousands of requests with one key
    "auth.requestsPerMinute": 100_000,
  });
});
afterAll(async () => {
  await aegis?.close();
});

const ids = ["ses_01aaaaaaaaaaaaaaaaaaaaaaaa", "nope", "../../etc/passwd", "%00", "ñame", "x".repeat(300), "ses_"];
const bodies: unknown[] = [
  null,
  [],
  "string",
  123,
  {},
  { text: 5 },
  { text: "" },
  { workDir: 1 },
  { workDir: "/tmp", env: { "BAD NAME": "x" } },
  { workDir: "/tmp", env: { OK: 5 } },
  { workDir: "/tmp", maxTurns: -1 },
  { workDir: "/tmp", maxBudgetUsd: "lots" },
  { workDir: "/tmp", allowedTools: "Bash" },
  { workDir: "/tmp".repeat(2000) },
  { approvalId: "apr_nope" },
  { permissionMode: "root" },
  { a: { b: { c: { d: { e: { f: [1, [2, [3, [4]]]] } } } } } },
  // Values Claude Code gets as arguments or environment: a NUL once crashed the server at spawn.
  { workDir: "/tmp", model: "a\u0000" },
  { workDir: "/tmp", allowedTools: ["\u0000"] },
  { workDir: "/tmp", disallowedTools: ["a\u0000"] },
  { workDir: "/tmp", env: { FOO: "a\u0000" } },
  // Nested far past any real request (handlers once overflowed the stack walking it).
  JSON.parse(`${"[".repeat(1000)}${"]".repeat(1000)}`),
];

describe("bad input", () => {
  it("every route answers hostile input with a 4xx and an error code, never a 500", async () => {
    const doc = (await aegis.api<Record<string, any>>("GET", "/v1/openapi.json")).body;
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) {
        // The all-sessions stream has no id to get wrong; valid input opens a stream (tested in sse.test.ts).
        if (path === "/v1/events") continue;
        for (const id of ids) {
          const url = path.replace("{id}", encodeURIComponent(id));
          const payloads = method === "get" || method === "delete" ? [undefined] : bodies;
          for (const body of payloads) {
            const res = await aegis.api<Record<string, any>>(
              method.toUpperCase(),
              url,
              body === undefined ? undefined : JSON.stringify(body),
            );
            checked++;
            expect({ method, url, body, status: res.status }).toEqual({
              method,
              url,
              body,
              status: expect.any(Number),
            });
            expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBeLessThan(500);
            if (res.status >= 400)
              expect(`${method} ${url} ${res.status} ${String(res.body?.error?.code)}`).toMatch(/ [A-Z_]+$/);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it("refuses bodies over the size limit with 413 and odd content types with 415", async () => {
    const big = await aegis.api<Record<string, any>>(
      "POST",
      "/v1/sessions",
      JSON.stringify({ workDir: "/tmp", prompt: "x".repeat(3 * 1024 * 1024) }),
    );
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("BODY_TOO_LARGE");
    // The answer says how much the route takes.
    expect(big.body.error.message).toMatch(/\(\d+ bytes\)/);
    expect(big.body.error.details.limitBytes).toBeGreaterThan(1024 * 1024);
    const res = await fetch(`${aegis.url}/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "text/plain", authorization: `Bearer ${aegis.adminToken}` },
      body: "hello",
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as Record<string, any>).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("query strings are validated too", async () => {
    for (const q of ["limit=abc", "limit=100000", "cursor=", "status=1", "extra=1"]) {
      const res = await aegis.api<Record<string, any>>("GET", `/v1/sessions?${q}`);
      expect(res.status, q).toBeLessThan(500);
    }
    const t = await aegis.api<Record<string, any>>("GET", "/v1/sessions?extra=1");
    expect(t.status).toBe(400);
    // Numbers are digits: Number() would have read these as 16, 100, 5 and 0.
    for (const [path, name] of [
      ["/v1/sessions?limit=0x10", "limit"],
      ["/v1/approvals?limit=1e2", "limit"],
      ["/v1/audit?cursor=", "cursor"],
      ["/v1/events?after=%205", "after"],
    ] as const) {
      const res = await aegis.api<Record<string, any>>("GET", path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(res.body.error.message, path).toMatch(new RegExp(`${name}.*must be a whole number from \\d+ to \\d+`));
    }
    // The largest page the audit API offers (it asks the store for one more record).
    expect((await aegis.api("GET", "/v1/audit?limit=1000")).status).toBe(200);
    // A cursor no page returned is refused, the same way on every list (once: accepted silently, or 404).
    for (const path of [
      "/v1/sessions",
      "/v1/approvals",
      "/v1/audit",
      "/v1/sessions/ses_01aaaaaaaaaaaaaaaaaaaaaaaa/transcript",
    ]) {
      for (const cursor of ["garbage", "-1", "ses_x", "1.5"]) {
        const res = await aegis.api<Record<string, any>>("GET", `${path}?cursor=${cursor}`);
        expect(res.status, `${path}?cursor=${cursor}`).toBe(400);
        expect(res.body.error.code).toBe("VALIDATION_FAILED");
        expect(res.body.error.message).toContain("cursor");
      }
    }
  });

  it("refuses a blank prompt up front (the model API would fail the turn on it)", async () => {
    const created = await aegis.api<Record<string, any>>("POST", "/v1/sessions", { workDir: "/tmp", prompt: " \n\t" });
    expect(created.status).toBe(400);
    expect(created.body.error.message).toContain("the prompt is empty or only whitespace");
    const sent = await aegis.api<Record<string, any>>("POST", "/v1/sessions/ses_01aaaaaaaaaaaaaaaaaaaaaaaa/messages", {
      text: "   ",
    });
    expect(sent.status).toBe(400);
    expect(sent.body.error.code).toBe("VALIDATION_FAILED");
  });

  it("names the form a date or a key's lifetime must take", async () => {
    const date = await aegis.api<Record<string, any>>("GET", "/v1/analytics/summary?from=abc");
    expect(date.status).toBe(400);
    expect(date.body.error.message).toMatch(/give a date \(2026-01-31\) or a date-time/);
    for (const expiresInSeconds of [1e308, 0, 1.5, "soon", 10 * 366 * 24 * 3600]) {
      const key = await aegis.api<Record<string, any>>("POST", "/v1/auth/keys", {
        name: "k",
        role: "viewer",
        expiresInSeconds,
      });
      expect(key.status, String(expiresInSeconds)).toBe(400);
      expect(key.body.error.message).toContain("a whole number of seconds from 1 to 315360000 (ten years)");
    }
  });

  it("says why JSON with a __proto__ key is refused, instead of calling it invalid", async () => {
    for (const raw of ['{"text":"hi","__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}},"text":"hi"}']) {
      const res = await fetch(`${aegis.url}/v1/sessions/ses_01aaaaaaaaaaaaaaaaaaaaaaaa/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${aegis.adminToken}`, "content-type": "application/json" },
        body: raw,
      });
      expect(res.status, raw).toBe(400);
      const body = (await res.json()) as Record<string, any>;
      expect(body.error.code).toBe("INVALID_JSON");
      expect(body.error.message).toContain("__proto__");
    }
    // Plain broken JSON keeps the plain message.
    const broken = await fetch(`${aegis.url}/v1/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${aegis.adminToken}`, "content-type": "application/json" },
      body: "{",
    });
    expect(((await broken.json()) as Record<string, any>).error.message).toBe("The body is not valid JSON.");
  });

  it("refuses JSON nested deeper than any request needs, with its own code", async () => {
    const deep = `${'{"a":'.repeat(200)}1${"}".repeat(200)}`;
    const res = await fetch(`${aegis.url}/v1/policies/evaluate`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${aegis.adminToken}` },
      body: `{"toolName":"Bash","input":${deep}}`,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, any>).error.code).toBe("BODY_TOO_DEEP");
  });

  it("gives two creates racing for one name a 201 and a 409, never a 500", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aegis-race-"));
    const all = await Promise.all(
      Array.from({ length: 5 }, () =>
        aegis.api<Record<string, any>>("POST", "/v1/sessions", { workDir: dir, name: "racer", reuse: false }),
      ),
    );
    const codes = all.map((r) => r.status).sort();
    expect(codes).toEqual([201, 409, 409, 409, 409]);
    for (const r of all.filter((x) => x.status === 409)) expect(r.body.error.code).toBe("SESSION_NAME_TAKEN");
    const created = all.find((r) => r.status === 201);
    await aegis.api("DELETE", `/v1/sessions/${created?.body.id}`);
  });

  it("answers a request Node cannot parse in the same error shape", async () => {
    const port = new URL(aegis.url).port;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => socket.write("FOO / HTTP/1.1\r\nHost: x\r\n\r\n"));
      let out = "";
      socket.on("data", (d) => {
        out += d;
      });
      socket.on("close", () => resolve(out));
      socket.on("error", (err) => (out ? resolve(out) : reject(err)));
      socket.setTimeout(5000, () => socket.destroy(new Error("no answer")));
    });
    expect(raw.startsWith("HTTP/1.1 400")).toBe(true);
    expect(JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)).error.code).toBe("BAD_REQUEST");
  });

  it("answers HEAD on an event stream at once instead of holding it open", async () => {
    const res = await fetch(`${aegis.url}/v1/events`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${aegis.adminToken}` },
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});
