// The circuit breaker trips on a failure loop, interrupts the session, and resets on a human action.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SseClient, type TestAegis } from "../support/aegis";
import { useAegis } from "../support/harness";
import type { ModelServer } from "../support/model-server";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;

useAegis(
  (m, a) => {
    model = m;
    aegis = a;
  },
  { "breaker.maxRepeats": 3 },
);

describe("circuit breaker", () => {
  it("trips when the same tool call keeps failing, and a person's message resets it", async () => {
    const failing = { toolUse: { name: "Bash", input: { command: "exit 3", description: "fails" } } };
    const script = model.script("breaker-loop", [
      failing,
      failing,
      failing,
      failing,
      failing,
      failing,
      { text: "stopped looping" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: mkdtempSync(join(tmpdir(), "aegis-brk-")),
      prompt: "breaker-loop: go",
      allowedTools: ["Bash"],
    });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    const tripped = await sse.waitForType("breaker.tripped");
    expect(tripped.data.data).toMatchObject({ count: 3 });
    expect(tripped.data.data.reason).toContain("Bash");
    await sse.waitTurnsEnded(1);
    expect(sse.of("turn.failed").at(-1)?.data.data.code).toBe("INTERRUPTED");
    // the loop was cut: Claude Code did not get to run all six failing calls
    expect(sse.of("tool.completed").length).toBeLessThan(6);
    const s = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(s.body.attention).toMatchObject({ reason: expect.stringContaining("3 times in a row") });
    const audit = await aegis.api<Json>("GET", `/v1/audit?sessionId=${id}&action=session.breaker_tripped`);
    expect(audit.body.items).toHaveLength(1);

    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "breaker-loop: please stop" });
    await sse.waitForType("breaker.reset");
    const after = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(after.body.attention).toBeNull();
    await sse.waitForType("message.submitted", (d) => d.text === "breaker-loop: please stop");
    await sse.waitTurnsEnded(2);
    expect(JSON.stringify(script.requests.at(-1)?.body?.messages)).toContain("breaker-loop: please stop");
    sse.close();
  });

  it("trips when turns keep failing the same way, and a person's message resets it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aegis-brk-"));
    const overloaded = { error: { status: 529 } };
    const script = model.script("breaker-turns", [
      { toolUse: { name: "Write", input: { file_path: join(dir, "a.txt"), content: "a" } } },
      overloaded,
      overloaded,
      overloaded,
      { text: "back again" },
      { text: "and the new one" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "breaker-turns: go" });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    // Held at an approval, the follow-ups queue behind the first turn, so no person acts between
    // the three failing turns (each message and decision resets the breaker when it is made).
    const req = await sse.waitForType("approval.requested");
    for (const n of [2, 3, 4]) await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: `breaker-turns: ${n}` });
    await aegis.api("POST", `/v1/approvals/${req.data.data.approvalId}`, { decision: "allow_once" });
    const tripped = await sse.waitForType("breaker.tripped");
    expect(tripped.data.data).toEqual({
      reason: "turns keep failing (MODEL_API_ERROR) (3 times in a row)",
      count: 3,
      key: "turn:MODEL_API_ERROR",
    });
    // Queued turns follow each other without going idle in between, until the breaker trips: the
    // fourth prompt is held, and the session waits idle for a person.
    await sse.waitFor(
      (e) => e.event === "session.status_changed" && e.data.data.to === "idle",
      60_000,
      "idle after the trip",
    );
    expect(sse.of("session.status_changed").at(-1)?.data.data.reason).toBe("breaker tripped: queued prompts wait");
    expect(sse.of("turn.started")).toHaveLength(3);
    expect(sse.of("turn.failed").map((e) => e.data.data.code)).toEqual([
      "MODEL_API_ERROR",
      "MODEL_API_ERROR",
      "MODEL_API_ERROR",
    ]);
    const s = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(s.body).toMatchObject({
      status: "idle",
      attention: { reason: "turns keep failing (MODEL_API_ERROR) (3 times in a row)", since: expect.any(String) },
    });
    const audit = await aegis.api<Json>("GET", `/v1/audit?sessionId=${id}&action=session.breaker_tripped`);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actor: { keyId: "system" },
      params: { key: "turn:MODEL_API_ERROR" },
    });

    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "breaker-turns: try again" });
    const reset = await sse.waitForType("breaker.reset");
    expect(reset.data.data).toEqual({ by: "bootstrap" });
    expect((await aegis.api<Json>("GET", `/v1/sessions/${id}`)).body.attention).toBeNull();
    // The held prompt runs first, then the new one.
    await sse.waitForType("message.completed", (d) => d.text === "back again");
    await sse.waitForType("message.completed", (d) => d.text === "and the new one");
    expect(sse.of("turn.started")).toHaveLength(5);
    expect(script.done).toBe(true);
    sse.close();
  });

  it("trips when the policy keeps denying the same call, and escape resets it", async () => {
    const denied = { toolUse: { name: "Bash", input: { command: "rm -rf build", description: "clean" } } };
    model.script("breaker-deny", [denied, denied, denied, denied, denied, denied, { text: "gave up" }]);
    const dir = mkdtempSync(join(tmpdir(), "aegis-brk-"));
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir });
    const id = created.body.id;
    await aegis.api("PUT", `/v1/sessions/${id}/policy`, {
      rules: [{ tool: "Bash", command: { glob: "rm *" }, decision: "deny", reason: "no deleting" }],
    });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "breaker-deny: clean up" });
    const tripped = await sse.waitForType("breaker.tripped");
    expect(tripped.data.data).toMatchObject({
      reason: "Bash denied by policy (3 times in a row)",
      count: 3,
      key: expect.stringMatching(/^Bash:[0-9a-f]{16}$/),
    });
    await sse.waitTurnsEnded(1);
    expect(sse.of("turn.failed").at(-1)?.data.data.code).toBe("INTERRUPTED");
    // The loop was cut at the third denied call: each deny counts once (not again for its error result).
    const decided = sse.of("policy.decided").map((e) => e.data.data);
    expect(decided.every((d) => d.decision === "deny" && d.rule.layer === "session")).toBe(true);
    expect(decided).toHaveLength(3);
    expect(sse.of("approval.requested")).toHaveLength(0);
    const s = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(s.body.attention).toMatchObject({ reason: "Bash denied by policy (3 times in a row)" });
    const audit = await aegis.api<Json>("GET", `/v1/audit?sessionId=${id}&action=session.breaker_tripped`);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0].params).toMatchObject({ reason: "Bash denied by policy (3 times in a row)" });

    const esc = await aegis.api<Json>("POST", `/v1/sessions/${id}/escape`);
    expect(esc.status).toBe(200);
    const reset = await sse.waitForType("breaker.reset");
    expect(reset.data.data).toEqual({ by: "bootstrap" });
    expect(esc.body.attention).toBeNull();
    expect((await aegis.api<Json>("GET", `/v1/sessions/${id}`)).body.attention).toBeNull();
    sse.close();
  });
});
