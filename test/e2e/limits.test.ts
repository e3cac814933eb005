// Capacity limits over the real server: live sessions per tenant (auth.tenants.<name>.maxConcurrentSessions,
// else limits.concurrentSessionsPerTenant) and open event streams per client address and in total.
import { mkdtempSync } from "node:fs";
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TestAegis } from "../support/aegis";
import { useModelForServers } from "../support/harness";
import { until } from "../support/until";

type Json = Record<string, any>;
const aegisWith = useModelForServers(() => {});
const freshDir = () => mkdtempSync(join(tmpdir(), "aegis-limits-"));
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function newKey(aegis: TestAegis, name: string, tenant: string, role = "operator"): Promise<string> {
  const res = await aegis.api<Json>("POST", "/v1/auth/keys", { name, role, tenant });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.token;
}

describe("live sessions per tenant", () => {
  it("the tenant's own limit binds all its keys together, other tenants keep theirs, and a kill frees a slot", async () => {
    const aegis = await aegisWith({
      "auth.tenants": { acme: { maxConcurrentSessions: 2 } },
      "limits.concurrentSessionsPerTenant": 3,
    });
    const acme1 = await newKey(aegis, "acme-1", "acme");
    const acme2 = await newKey(aegis, "acme-2", "acme");
    const other = await newKey(aegis, "other-1", "other");
    const create = (token: string) =>
      aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), reuse: false }, bearer(token));

    const first = await create(acme1);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect((await create(acme2)).status).toBe(201);
    // Each key has one session, far below the per-key limit: the tenant's limit is what refuses.
    for (const token of [acme1, acme2]) {
      const refused = await create(token);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("TOO_MANY_SESSIONS");
      expect(refused.body.error.message).toContain("Tenant acme");
    }
    const acmeLive = await aegis.api<Json>("GET", "/v1/sessions?limit=200", undefined, bearer(acme1));
    expect(acmeLive.body.items).toHaveLength(1);

    // Another tenant is not counted against acme, and falls back to limits.concurrentSessionsPerTenant.
    for (let i = 0; i < 3; i++) expect((await create(other)).status).toBe(201);
    const otherOver = await create(other);
    expect(otherOver.status).toBe(429);
    expect(otherOver.body.error.message).toContain("Tenant other");

    // Killing one of acme's sessions lets the other key start one.
    const id = first.body.id as string;
    await until(`${id} to be idle`, async () =>
      (await aegis.api<Json>("GET", `/v1/sessions/${id}`)).body.status === "idle" ? true : undefined,
    );
    const killed = await aegis.api<Json>("DELETE", `/v1/sessions/${id}`, undefined, bearer(acme1));
    expect(killed.status).toBe(200);
    expect(killed.body.status).toBe("stopped");
    const again = await create(acme2);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect((await create(acme1)).status).toBe(429);
  });
});

interface Stream {
  status: number;
  retryAfter: string | undefined;
  body: Json | undefined;
  close(): void;
}

/**
 * Opens GET /v1/events from `localAddress` (any 127.x address reaches the loopback server, so each
 * is a distinct client address to it). An accepted stream resolves once its snapshot arrived.
 */
function openStream(aegis: TestAegis, token: string, localAddress: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined;
    const close = () => req?.destroy();
    req = request(
      `${aegis.url}/v1/events?after=999999999`,
      { headers: { ...bearer(token), accept: "text/event-stream" }, localAddress },
      (res: IncomingMessage) => {
        const base = { status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined };
        let text = "";
        res.on("data", (d) => {
          text += d;
          if (res.statusCode === 200 && text.includes("event: sessions.snapshot"))
            resolve({ ...base, body: undefined, close });
        });
        res.on("end", () => {
          if (res.statusCode !== 200) resolve({ ...base, body: JSON.parse(text) as Json, close });
        });
      },
    );
    req.on("error", (err) => {
      if (!req?.destroyed) reject(err);
    });
    req.end();
  });
}

/** Waits until the server counts exactly `n` open streams (the aegis_sse_clients gauge). */
const openStreamsAre = (aegis: TestAegis, n: number) =>
  until(`${n} open streams`, async () => {
    const res = await fetch(`${aegis.url}/metrics`, { headers: bearer(aegis.adminToken) });
    const value = /^aegis_sse_clients (\d+)$/m.exec(await res.text())?.[1];
    return Number(value) === n ? true : undefined;
  });

function expectRefused(s: Stream, limit: string) {
  expect(s.status).toBe(429);
  expect(s.body?.error.code).toBe("TOO_MANY_STREAMS");
  expect(s.body?.error.message).toContain(`limits.${limit}`);
  expect(Number(s.retryAfter)).toBeGreaterThan(0);
}

describe("event streams per client address and in total", () => {
  it("refuses a stream past limits.sseConnectionsPerIp from that address only, until one closes", async () => {
    const aegis = await aegisWith({ "limits.sseConnectionsPerIp": 2 });
    const [k1, k2, k3] = [
      await newKey(aegis, "s1", "default", "viewer"),
      await newKey(aegis, "s2", "default", "viewer"),
      await newKey(aegis, "s3", "default", "viewer"),
    ] as [string, string, string];
    // Different keys, one address: the per-key limit (20) is not what counts.
    const a = await openStream(aegis, k1, "127.0.0.1");
    const b = await openStream(aegis, k2, "127.0.0.1");
    expect([a.status, b.status]).toEqual([200, 200]);
    expectRefused(await openStream(aegis, k3, "127.0.0.1"), "sseConnectionsPerIp");
    const elsewhere = await openStream(aegis, k3, "127.0.0.2");
    expect(elsewhere.status).toBe(200);
    await openStreamsAre(aegis, 3);

    a.close();
    await openStreamsAre(aegis, 2);
    const after = await openStream(aegis, k3, "127.0.0.1");
    expect(after.status).toBe(200);
    for (const s of [b, elsewhere, after]) s.close();
  });

  it("refuses a stream past limits.sseConnectionsTotal from any address and key, until one closes", async () => {
    const aegis = await aegisWith({ "limits.sseConnectionsTotal": 3 });
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) keys.push(await newKey(aegis, `t${i}`, i % 2 ? "other" : "default", "viewer"));
    const open: Stream[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await openStream(aegis, keys[i]!, `127.0.0.${i + 1}`);
      expect(s.status).toBe(200);
      open.push(s);
    }
    // A fresh key from a fresh address: only the total is over.
    expectRefused(await openStream(aegis, keys[3]!, "127.0.0.4"), "sseConnectionsTotal");
    expectRefused(await openStream(aegis, aegis.adminToken, "127.0.0.5"), "sseConnectionsTotal");

    open[1]!.close();
    await openStreamsAre(aegis, 2);
    const after = await openStream(aegis, keys[3]!, "127.0.0.4");
    expect(after.status).toBe(200);
    expectRefused(await openStream(aegis, keys[1]!, "127.0.0.2"), "sseConnectionsTotal");
    for (const s of [open[0]!, open[2]!, after]) s.close();
  });
});
