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
});
