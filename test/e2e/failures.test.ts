// Failure paths with the real Claude Code: model API errors, missing credentials, missing binary.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { SseClient } from "../support/aegis";
import { useModelForServers } from "../support/harness";
import type { ModelServer } from "../support/model-server";
import { until } from "../support/until";

type Json = Record<string, any>;
let model: ModelServer;
const aegisWith = useModelForServers((m) => {
  model = m;
});
const freshDir = () => mkdtempSync(join(tmpdir(), "aegis-fail-"));

describe("failures", () => {
  it("a 529 from the model fails the turn with the reason; the session stays usable", async () => {
    const aegis = await aegisWith();
    const script = model.script("fail-529", [{ error: { status: 529 } }, { text: "recovered" }]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), prompt: "fail-529: hi" });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    const failed = await sse.waitForType("turn.failed");
    expect(failed.data.data.code).toBe("MODEL_API_ERROR");
    expect(failed.data.data.message).toMatch(/overloaded/i);
    await sse.waitTurnsEnded(1);
    expect((await aegis.api<Json>("GET", `/v1/sessions/${created.body.id}`)).body.status).toBe("idle");
    await aegis.api("POST", `/v1/sessions/${created.body.id}/messages`, { text: "fail-529: again" });
    await sse.waitForType("message.completed", (d) => d.text === "recovered");
    expect(script.requests.length).toBe(2);
    const t = await aegis.api<Json>("GET", `/v1/sessions/${created.body.id}/transcript`);
    expect(t.body.items.map((i: Json) => i.kind)).toContain("error");
    sse.close();
  });

  it("a prompt that reached Claude Code keeps its turn even if recording the working status fails", async () => {
    const aegis = await aegisWith();
    const script = model.script("fail-status", [{ text: "slow but done", delayMs: 1500 }, { text: "second" }]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await sse.waitForStatus("idle");
    // The database refuses the move to `working` (a stand-in for a write that fails after the prompt left).
    await sql`create trigger refuse_working before update of status on sessions when new.status = 'working'
      begin select raise(abort, 'injected failure'); end`.execute(aegis.app.db);
    const first = await aegis.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "fail-status: one" });
    expect(first.status).toBeGreaterThanOrEqual(500);
    await sql`drop trigger refuse_working`.execute(aegis.app.db);
    // The prompt went out; its turn still runs, so the next prompt waits behind it instead of joining it.
    await until("the first prompt at the model", async () => (script.requests.length === 1 ? true : undefined));
    const second = await aegis.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "fail-status: two" });
    expect(second.status).toBe(202);
    expect(second.body.queued).toBe(true);
    await sse.waitForType("message.completed", (d) => d.text === "second");
    expect(sse.of("message.completed").map((e) => e.data.data.text)).toEqual(["slow but done", "second"]);
    sse.close();
  });

  it("a stream dropped mid-answer fails the turn; the session stays usable", async () => {
    const aegis = await aegisWith();
    const script = model.script("fail-drop", [
      { text: "this will be cut off somewhere", dropAfterChunks: 4 },
      { text: "fine now" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), prompt: "fail-drop: hi" });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitForType("turn.failed");
    await sse.waitTurnsEnded(1);
    await aegis.api("POST", `/v1/sessions/${created.body.id}/messages`, { text: "fail-drop: again" });
    await sse.waitForType("message.completed", (d) => d.text === "fine now");
    expect(script.requests.length).toBeGreaterThanOrEqual(2);
    sse.close();
  });

  it("a rejected API key fails the session with AUTH_REQUIRED and says how to fix it", async () => {
    const aegis = await aegisWith();
    model.script("fail-401", [{ error: { status: 401 }, repeat: true }]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), prompt: "fail-401: hi" });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    const ended = await sse.waitForType("session.ended");
    expect(ended.data.data.status).toBe("failed");
    const s = await aegis.api<Json>("GET", `/v1/sessions/${created.body.id}`);
    expect(s.body.status).toBe("failed");
    expect(s.body.error.code).toBe("AUTH_REQUIRED");
    expect(s.body.error.message).toContain("ANTHROPIC_API_KEY");
    sse.close();
  });

  it("no credentials at all fails the session with AUTH_REQUIRED", async () => {
    const aegis = await aegisWith({}, { ANTHROPIC_API_KEY: "" });
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), prompt: "fail-nocreds: hi" });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitForType("session.ended");
    const s = await aegis.api<Json>("GET", `/v1/sessions/${created.body.id}`);
    expect(s.body.error?.code).toBe("AUTH_REQUIRED");
    expect(model.turnRequests("fail-nocreds")).toHaveLength(0);
    sse.close();
  });

  it("a missing Claude Code binary shows in /v1/ready and creation answers 503", async () => {
    const aegis = await aegisWith({ claudePath: "/nonexistent/claude" });
    const ready = await aegis.api<Json>("GET", "/v1/ready");
    expect(ready.status).toBe(503);
    expect(ready.body.checks.claudeCode).toMatchObject({ ok: false, path: "/nonexistent/claude" });
    expect(ready.body.checks.claudeCode.error).toContain("claudePath");
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir() });
    expect(created.status).toBe(503);
    expect(created.body.error.code).toBe("RUNTIME_UNAVAILABLE");
    expect(created.body.error.message).toContain("claudePath");
  });
});
