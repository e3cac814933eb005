// Whole-server tests of the session lifecycle against the real Claude Code binary.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sessionStore } from "../../src/session/store";
import { SseClient, type TestAegis } from "../support/aegis";
import { useAegis } from "../support/harness";
import type { ModelServer } from "../support/model-server";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;

useAegis((m, a) => {
  model = m;
  aegis = a;
});

const freshDir = () => mkdtempSync(join(tmpdir(), "aegis-wd-"));

async function waitIdle(id: string, sse: SseClient, turns = 1) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const done = sse.events.filter(
      (e) =>
        e.event === "session.status_changed" &&
        e.data.data.to === "idle" &&
        String(e.data.data.reason).startsWith("turn "),
    ).length;
    if (done >= turns) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`session ${id} did not finish ${turns} turn(s): ${sse.events.map((e) => e.event).join(",")}`);
}

describe("session lifecycle", () => {
  it("streams deltas, completes the message, and records transcript, usage and latency", async () => {
    model.script("life-stream", [
      {
        text: "First answer, streamed in several pieces.",
        chunks: 5,
        usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 },
      },
      { text: "Second answer.", usage: { input_tokens: 50, output_tokens: 5 } },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: freshDir(),
      name: "life-stream",
      prompt: "life-stream: first",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "life-stream",
      reused: false,
      status: "starting",
      parentId: null,
      error: null,
    });
    expect(created.body.id).toMatch(/^ses_/);
    expect(created.body.claudeSessionId).toMatch(/^[0-9a-f-]{36}$/);
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await waitIdle(id, sse);
    expect(sse.events[0]?.event).toBe("session.snapshot");
    const deltas = sse
      .of("message.delta")
      .map((e) => e.data.data.text)
      .join("");
    expect(deltas).toBe("First answer, streamed in several pieces.");
    expect(sse.of("message.completed")[0]?.data.data.text).toBe("First answer, streamed in several pieces.");
    const ids = sse.events.filter((e) => e.id).map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    // follow-up to an idle session, addressed by name
    const follow = await aegis.api<Json>("POST", "/v1/sessions/life-stream/messages", { text: "life-stream: second" });
    expect(follow.status).toBe(202);
    expect(follow.body).toEqual({ queued: false, position: 0 });
    await waitIdle(id, sse, 2);
    const turns = model.turnRequests("life-stream");
    expect(turns.length).toBe(2);
    expect(JSON.stringify(turns[1]?.body?.messages)).toContain("First answer, streamed in several pieces.");

    const t = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
    expect(t.body.items.map((i: Json) => i.kind)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(t.body.items[2].data.text).toBe("life-stream: second");
    const page1 = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript?limit=3`);
    expect(page1.body.items).toHaveLength(3);
    const page2 = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript?limit=3&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((i: Json) => i.id)).toEqual([t.body.items[3].id]);
    expect(page2.body.nextCursor).toBeNull();

    const m = await aegis.api<Json>("GET", `/v1/sessions/${id}/metrics`);
    expect(m.body.turns).toMatchObject({ total: 2, completed: 2 });
    expect(m.body.messages).toEqual({ user: 2, assistant: 2 });
    expect(m.body.tokens).toEqual({ input: 150, output: 25, cacheRead: 7, cacheWrite: 3 });
    expect(m.body.costUsd).toBeGreaterThan(0);
    const usage = sse.of("usage.recorded").map((e) => e.data.data);
    expect(usage.map((u) => u.inputTokens)).toEqual([100, 50]);

    const lat = await aegis.api<Json>("GET", `/v1/sessions/${id}/latency`);
    expect(lat.body.turnDuration.count).toBe(2);
    expect(lat.body.timeToFirstToken.count).toBe(2);
    expect(lat.body.timeToFirstToken.medianMs).toBeGreaterThan(0);
    sse.close();
  });

  it("a reply with a thinking block completes the turn; only its text becomes the message", async () => {
    const thought = "private-pondering about the answer";
    model.script("life-think", [{ thinking: thought, text: "The visible answer.", chunks: 4 }]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: freshDir(),
      prompt: "life-think: think first",
    });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await sse.waitTurnsEnded(1);
    expect(sse.of("session.status_changed").at(-1)?.data.data.reason).toBe("turn completed");
    expect(sse.of("turn.failed")).toHaveLength(0);
    const deltas = sse
      .of("message.delta")
      .map((e) => e.data.data.text)
      .join("");
    expect(deltas).toBe("The visible answer.");
    expect(sse.of("message.completed").map((e) => e.data.data.text)).toEqual(["The visible answer."]);
    expect(sse.of("model.responded")[0]?.data.data.stopReason).toBe("end_turn");
    // Thinking is neither streamed nor stored anywhere a client can read it.
    expect(JSON.stringify(sse.events)).not.toContain("pondering");
    const t = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
    expect(t.body.items.map((i: Json) => [i.kind, i.data.text])).toEqual([
      ["user", "life-think: think first"],
      ["assistant", "The visible answer."],
    ]);
    expect(JSON.stringify(t.body)).not.toContain("pondering");
    sse.close();
  });

  it("marks the conversation started as its first prompt leaves, before Claude Code reports anything", async () => {
    // A restart must then resume it: Claude Code refuses a new start under a session id already in use,
    // and an escape or a stop can come before its first report does.
    model.script("lc-started", [{ text: "late", delayMs: 2_000 }]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitForStatus("idle");
    expect((await sessionStore.get(aegis.app.db, created.body.id))?.conversationStarted).toBe(false);
    const sent = await aegis.api<Json>("POST", `/v1/sessions/${created.body.id}/messages`, { text: "lc-started: go" });
    expect(sent.status).toBe(202);
    expect((await sessionStore.get(aegis.app.db, created.body.id))?.conversationStarted).toBe(true);
    await aegis.api("DELETE", `/v1/sessions/${created.body.id}`);
    sse.close();
  });

  it("queues a message sent during a running turn and runs it next", async () => {
    model.script("life-queue", [{ text: "slow first reply", delayMs: 150, chunks: 6 }, { text: "queued reply" }]);
    const dir = freshDir();
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "life-queue: one" });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await sse.waitForType("message.delta");
    const queued = await aegis.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "life-queue: two" });
    expect(queued.status).toBe(202);
    expect(queued.body).toEqual({ queued: true, position: 1 });
    await waitIdle(id, sse, 1);
    const texts = sse.of("message.completed").map((e) => e.data.data.text);
    expect(texts).toEqual(["slow first reply", "queued reply"]);
    sse.close();
  });

  it("reuses an idle session in the same workDir unless reuse is false", async () => {
    const dir = freshDir();
    const a = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir });
    expect(a.status).toBe(201);
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${a.body.id}/events`);
    await sse.waitForStatus("idle");
    model.script("life-reuse", [{ text: "reused answer" }]);
    const b = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "life-reuse: hello" });
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ id: a.body.id, reused: true });
    await sse.waitForType("message.completed", (d) => d.text === "reused answer");
    const c = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, reuse: false });
    expect(c.status).toBe(201);
    expect(c.body.id).not.toBe(a.body.id);
    const live = await aegis.api<Json>("GET", `/v1/sessions?workDir=${encodeURIComponent(dir)}`);
    expect(live.body.items.map((s: Json) => s.id).sort()).toEqual([a.body.id, c.body.id].sort());
    await aegis.api("DELETE", `/v1/sessions/${c.body.id}`);
    await aegis.api("DELETE", `/v1/sessions/${a.body.id}`);
    sse.close();
  });

  it("kills a session: record and history stay, status stopped, further messages refused", async () => {
    model.script("life-kill", [{ text: "before kill" }]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: freshDir(),
      name: "life-kill",
      prompt: "life-kill: go",
    });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await waitIdle(id, sse);
    const taken = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), name: "life-kill" });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("SESSION_NAME_TAKEN");

    const killed = await aegis.api<Json>("DELETE", `/v1/sessions/${id}`);
    expect(killed.status).toBe(200);
    expect(killed.body.status).toBe("stopped");
    const ended = await sse.waitForType("session.ended");
    expect(ended.data.data).toMatchObject({ status: "stopped", reason: "killed" });
    const again = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(again.body.status).toBe("stopped");
    const msg = await aegis.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "hello?" });
    expect(msg.status).toBe(409);
    expect(msg.body.error.code).toBe("SESSION_NOT_LIVE");
    const transcript = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
    expect(transcript.body.items).toHaveLength(2);
    // the name is free again once the session has ended
    const reuseName = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), name: "life-kill" });
    expect(reuseName.status).toBe(201);
    const byName = await aegis.api<Json>("GET", "/v1/sessions/life-kill");
    expect(byName.body.id).toBe(reuseName.body.id);
    await aegis.api("DELETE", "/v1/sessions/life-kill");
    const stopped = await aegis.api<Json>("GET", "/v1/sessions?status=stopped&limit=1");
    expect(stopped.body.items).toHaveLength(1);
    expect(stopped.body.nextCursor).toEqual(expect.any(String));
    sse.close();
  });

  it("answers bad input with 4xx and stable codes", async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ["POST", "/v1/sessions", { workDir: "/definitely/not/here" }, 400, "WORKDIR_NOT_FOUND"],
      ["POST", "/v1/sessions", { workDir: freshDir(), bogus: 1 }, 400, "VALIDATION_FAILED"],
      ["POST", "/v1/sessions", { workDir: freshDir(), permissionMode: "yolo" }, 400, "VALIDATION_FAILED"],
      ["POST", "/v1/sessions", { workDir: freshDir(), name: "has space" }, 400, "VALIDATION_FAILED"],
      ["POST", "/v1/sessions", { workDir: freshDir(), resume: "not-a-uuid" }, 400, "VALIDATION_FAILED"],
      ["POST", "/v1/sessions", {}, 400, "VALIDATION_FAILED"],
      ["POST", "/v1/sessions", "{not json", 400, "INVALID_JSON"],
      ["GET", "/v1/sessions/ses_01aaaaaaaaaaaaaaaaaaaaaaaa", undefined, 404, "SESSION_NOT_FOUND"],
      ["GET", "/v1/sessions/no-such-name/transcript", undefined, 404, "SESSION_NOT_FOUND"],
      ["POST", "/v1/sessions/no-such-name/messages", { text: "hi" }, 404, "SESSION_NOT_FOUND"],
      ["POST", "/v1/sessions/no-such-name/approve", {}, 404, "SESSION_NOT_FOUND"],
      ["GET", "/v1/sessions?limit=0", undefined, 400, "VALIDATION_FAILED"],
      ["GET", "/v1/sessions?status=sleeping", undefined, 400, "VALIDATION_FAILED"],
      ["GET", "/v1/nope", undefined, 404, "ROUTE_NOT_FOUND"],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await aegis.api<Json>(method, path, body);
      expect({ path, body, status: res.status, code: res.body?.error?.code }).toEqual({ path, body, status, code });
      expect(res.body.error.message.length).toBeGreaterThan(10);
    }
  });

  it("serves health and readiness", async () => {
    expect((await aegis.api("GET", "/v1/health")).body).toEqual({ status: "ok" });
    const ready = await aegis.api<Json>("GET", "/v1/ready");
    expect(ready.status).toBe(200);
    expect(ready.body.checks.database.ok).toBe(true);
    expect(ready.body.checks.claudeCode.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
