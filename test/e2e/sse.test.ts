// SSE streams: snapshot first, replay after Last-Event-ID, heartbeats, slow clients dropped,
// and large payloads truncated in events but kept in the transcript.
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock";
import { newId } from "../../src/core/ids";
import { TRUNCATION_MARKER } from "../../src/core/truncate";
import { EventStore } from "../../src/events/store";
import { sessionStore } from "../../src/session/store";
import { SseClient, type TestAegis } from "../support/aegis";
import { useAegis } from "../support/harness";
import type { ModelServer } from "../support/model-server";
import { until } from "../support/until";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;

useAegis(
  (m, a) => {
    model = m;
    aegis = a;
  },
  { "sse.heartbeatMs": 200, "sse.queueLimit": 20, "events.maxPayloadChars": 1000 },
);

const freshDir = () => mkdtempSync(join(tmpdir(), "aegis-sse-"));

async function sessionWithTurn(marker: string) {
  model.script(marker, [{ text: `reply for ${marker}`, chunks: 4 }]);
  const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), prompt: `${marker}: go` });
  const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
  await sse.waitTurnsEnded(1);
  return { id: created.body.id as string, sse };
}

describe("SSE", () => {
  it("replays stored events after Last-Event-ID, once each and in order", async () => {
    const { id, sse } = await sessionWithTurn("sse-replay");
    const stored = sse.events.filter((e) => e.id);
    expect(stored.length).toBeGreaterThan(6);
    const cut = stored[3]!;
    const again = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`, { "last-event-id": cut.id! });
    await again.waitFor((e) => e.id === stored.at(-1)!.id);
    expect(again.events[0]?.event).toBe("session.snapshot");
    expect(again.events[0]?.data).toMatchObject({ id, status: "idle" });
    expect(again.events.filter((e) => e.id).map((e) => e.id)).toEqual(stored.slice(4).map((e) => e.id));
    const viaQuery = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events?after=${cut.id}`);
    await viaQuery.waitFor((e) => e.id === stored.at(-1)!.id);
    expect(viaQuery.events.filter((e) => e.id).length).toBe(stored.length - 4);
    // the all-sessions stream carries this session's events too, under the same ids
    const all = SseClient.admin(aegis, `${aegis.url}/v1/events?after=${Number(cut.id) - 1}`);
    await all.waitFor((e) => e.id === stored.at(-1)!.id);
    expect(all.events[0]?.event).toBe("sessions.snapshot");
    expect(all.events.filter((e) => e.data.sessionId === id).map((e) => e.id)).toEqual(
      stored.slice(3).map((e) => e.id),
    );
    for (const c of [sse, again, viaQuery, all]) c.close();
  });

  it("refuses a Last-Event-ID that is not a whole number up to 2^53 − 1 with 400, instead of a silent stream", async () => {
    // The stream answers 200 and stays open, so only its status is read.
    const status = async (path: string, lastEventId?: string) => {
      const abort = new AbortController();
      const res = await fetch(`${aegis.url}${path}`, {
        headers: {
          authorization: `Bearer ${aegis.adminToken}`,
          ...(lastEventId !== undefined ? { "last-event-id": lastEventId } : {}),
        },
        signal: abort.signal,
      });
      const body = res.status === 200 ? null : ((await res.json()) as Json);
      abort.abort();
      return { status: res.status, body };
    };
    for (const bad of ["1e3", "0x10", "-1", "1.5", "abc", "9007199254740993", "99999999999999999999", "1e308"]) {
      const r = await status("/v1/events", bad);
      expect(r.status, bad).toBe(400);
      expect(r.body?.error.code).toBe("INVALID_RESUME_POINT");
      expect(r.body?.error.message).toMatch(/whole number from 0 to 9007199254740991/);
    }
    // An id it did send, an empty header (none) and no header all stream.
    expect((await status("/v1/events", "1")).status).toBe(200);
    expect((await status("/v1/events", "")).status).toBe(200);
    expect((await status("/v1/events")).status).toBe(200);
    // ?after= already refused such numbers through its schema.
    expect((await status("/v1/events?after=1e308")).status).toBe(400);
  });

  it("replays history bigger than the socket buffers at the client's pace, never dropping it as slow", async () => {
    // Far more history than the live queue (20 here) and the socket buffers hold together.
    const store = new EventStore(systemClock);
    const big = "h".repeat(16 * 1024);
    const count = 400;
    await store.append(
      aegis.app.db,
      Array.from({ length: count }, (_, i) => ({ type: "test.history", sessionId: null, data: { i, big } })),
    );
    let received = "";
    let ended = false;
    const req = request(
      `${aegis.url}/v1/events`,
      { headers: { authorization: `Bearer ${aegis.adminToken}` } },
      (res) => {
        res.pause(); // not reading at first: the server's writes back up
        res.on("data", (d) => {
          received += d;
        });
        res.on("close", () => {
          ended = true;
        });
        setTimeout(() => res.resume(), 500);
      },
    );
    req.on("error", () => {});
    req.end();
    const got = () => received.split("event: test.history").length - 1;
    await until("the whole history", async () => (got() >= count || ended ? true : undefined));
    expect(ended).toBe(false);
    expect(got()).toBe(count);
    // Caught up, the stream is live: the next event arrives as it happens.
    model.script("sse-after-history", [{ text: "live after history" }]);
    await aegis.api("POST", "/v1/sessions", { workDir: freshDir(), prompt: "sse-after-history: go" });
    await until("a live event", async () => (received.includes("live after history") ? true : undefined));
    req.destroy();

    // A tenant's key sees none of that history: its replay passes over it and the stream goes live.
    const key = await aegis.api<Json>("POST", "/v1/auth/keys", { name: "other", role: "operator", tenant: "acme" });
    expect(key.status).toBe(201);
    const tenantStream = new SseClient(`${aegis.url}/v1/events`, { authorization: `Bearer ${key.body.token}` });
    await tenantStream.waitFor((e) => e.event === "sessions.snapshot");
    model.script("sse-tenant", [{ text: "tenant reply" }]);
    const own = await aegis.api<Json>(
      "POST",
      "/v1/sessions",
      { workDir: freshDir(), prompt: "sse-tenant: go" },
      { authorization: `Bearer ${key.body.token}` },
    );
    expect(own.status).toBe(201);
    await tenantStream.waitFor((e) => e.event === "message.completed" && e.data.sessionId === own.body.id);
    expect(tenantStream.events.some((e) => e.event === "test.history")).toBe(false);
    tenantStream.close();
  });

  it("replays tens of thousands of events to an ordinary reader without stalling", async () => {
    const store = new EventStore(systemClock);
    const pad = "p".repeat(300);
    const stored = await store.append(
      aegis.app.db,
      Array.from({ length: 20_000 }, (_, i) => ({ type: "test.many", sessionId: null, data: { i, pad } })),
    );
    const last = stored.at(-1)?.seq;
    const from = (stored[0]?.seq ?? 1) - 1;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/events?after=${from}`);
    await sse.waitFor((e) => Number(e.id) === last, 60_000, `event ${last}`);
    expect(sse.of("test.many")).toHaveLength(20_000);
    sse.close();
  });

  it("the all-sessions snapshot lists every live session, however many ended ones are newer", async () => {
    const { id, sse } = await sessionWithTurn("sse-snapshot");
    const record = await sessionStore.get(aegis.app.db, id);
    if (!record) throw new Error("the session is stored");
    // Ended sessions, all newer than the live one (ids sort by time).
    for (let i = 0; i < 210; i++)
      await sessionStore.insert(aegis.app.db, { ...record, id: newId("ses"), name: null, status: "stopped" });
    const all = SseClient.admin(aegis, `${aegis.url}/v1/events?after=999999999`);
    const snap = await all.waitFor((e) => e.event === "sessions.snapshot");
    expect(snap.data.map((s: Json) => s.id)).toContain(id);
    expect(snap.data.every((s: Json) => s.status !== "stopped")).toBe(true);
    all.close();
    sse.close();
  });

  it("sends heartbeats while idle", async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${aegis.url}/v1/events?after=999999999`,
        { headers: { authorization: `Bearer ${aegis.adminToken}` } },
        (res) => {
          let buf = "";
          res.on("data", (d) => {
            buf += d;
            if (buf.includes(": heartbeat")) {
              req.destroy();
              resolve(buf);
            }
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(text).toContain("event: sessions.snapshot");
    expect(text).toMatch(/: heartbeat \d+/);
  });

  it("disconnects a client that stops reading without holding up the others", async () => {
    const bus = aegis.app.bus;
    let slowRes: import("node:http").IncomingMessage | undefined;
    const slowConnected = new Promise<void>((resolve) => {
      const slow = request(
        `${aegis.url}/v1/events?after=999999999`,
        { headers: { authorization: `Bearer ${aegis.adminToken}` } },
        (res) => {
          res.pause(); // never read while the flood runs
          slowRes = res;
          resolve();
        },
      );
      slow.on("error", () => {});
      slow.end();
    });
    await slowConnected;
    const fast = SseClient.admin(aegis, `${aegis.url}/v1/events?after=999999999`);
    await fast.waitFor((e) => e.event === "sessions.snapshot");
    const subscribers = bus.size;

    const big = "x".repeat(64 * 1024);
    let sent = 0;
    for (; sent < 1000 && bus.size === subscribers; sent++) {
      bus.publish([
        {
          seq: 1_000_000_000 + sent,
          id: `evt_test_${sent}`,
          type: "test.flooded",
          sessionId: null,
          time: new Date().toISOString(),
          data: { i: sent, big },
        },
      ]);
      await new Promise((r) => setImmediate(r));
    }
    expect(bus.size).toBe(subscribers - 1); // the slow subscriber is gone
    const last = sent - 1;
    await fast.waitFor((e) => e.event === "test.flooded" && e.data.data.i === last);
    expect(fast.of("test.flooded")).toHaveLength(sent);
    // Reading now shows the stream was cut: it ends without most of the flood.
    let received = "";
    await new Promise<void>((resolve) => {
      slowRes!.on("data", (d) => {
        received += d;
      });
      slowRes!.on("close", () => resolve());
      slowRes!.on("error", () => resolve());
      slowRes!.resume();
    });
    const slowGot = received.split("event: test.flooded").length - 1;
    expect(slowGot).toBeLessThan(sent);
    fast.close();
  });

  it("ends a stream by the next heartbeat once its key expires or its rotated-out secret's grace ends", async () => {
    const key = async (body: Json) => (await aegis.api<Json>("POST", "/v1/auth/keys", body)).body;
    const open = (token: string) =>
      new SseClient(`${aegis.url}/v1/events?after=999999999`, { authorization: `Bearer ${token}` });
    const endsWithin = (c: SseClient, ms: number) =>
      Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

    const short = await key({ name: "short-lived", role: "viewer", expiresInSeconds: 1 });
    const rotating = await key({ name: "rotating", role: "viewer" });
    const expiring = open(short.token);
    const oldSecret = open(rotating.token);
    for (const c of [expiring, oldSecret]) await c.waitForType("sessions.snapshot", () => true);
    const rotated = await aegis.api<Json>("POST", `/v1/auth/keys/${rotating.id}/rotate`, { gracePeriodSeconds: 1 });
    const newSecret = open(rotated.body.token);
    await newSecret.waitForType("sessions.snapshot", () => true);

    const opened = Date.now();
    expect(await endsWithin(expiring, 5000)).toBe(true);
    expect(await endsWithin(oldSecret, 5000)).toBe(true);
    expect(Date.now() - opened).toBeGreaterThan(500); // not at once: they lived until the deadline
    expect(await endsWithin(newSecret, 500)).toBe(false);
    newSecret.close();
  });

  it("truncates large tool input and output in events; the transcript keeps them whole", async () => {
    const dir = freshDir();
    const bigFile = join(dir, "big.txt");
    writeFileSync(bigFile, "0123456789".repeat(3000));
    const content = "abcdefghij".repeat(2000);
    const script = model.script("sse-big", [
      { toolUse: { name: "Read", input: { file_path: bigFile } } },
      { toolUse: { name: "Write", input: { file_path: join(dir, "copy.txt"), content } } },
      { text: "done" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: dir,
      prompt: "sse-big: copy",
      permissionMode: "acceptEdits",
    });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitTurnsEnded(1);
    expect(script.done).toBe(true);
    const read = sse.of("tool.completed").find((e) => e.data.data.toolName === "Read")!.data.data;
    expect(read.truncated).toBe(true);
    expect(read.output.length).toBeLessThanOrEqual(1000);
    expect(read.output.endsWith(TRUNCATION_MARKER)).toBe(true);
    const write = sse.of("tool.called").find((e) => e.data.data.toolName === "Write")!.data.data;
    expect(write.input.content.length).toBeLessThanOrEqual(1000);
    expect(write.input.content.endsWith(TRUNCATION_MARKER)).toBe(true);

    const t = await aegis.api<Json>("GET", `/v1/sessions/${created.body.id}/transcript`);
    const tools = t.body.items.filter((i: Json) => i.kind === "tool");
    expect(tools[0].data.result).toContain("0123456789".repeat(100));
    expect(tools[0].data.result.length).toBeGreaterThan(30000);
    expect(tools[1].data.input.content).toBe(content);
    sse.close();
  });
});
