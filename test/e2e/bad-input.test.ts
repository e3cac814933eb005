// Bad input never yields a 500: every route in the OpenAPI document gets hostile input.
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
  });
});
