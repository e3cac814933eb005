import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { type ModelServer, startModelServer } from "../support/model-server";

let model: ModelServer;
let aegis: TestAegis;

beforeAll(async () => {
  model = await startModelServer();
  aegis = await startAegis(model.url);
});
afterAll(async () => {
  await aegis?.close();
  await model?.close();
});

describe("smoke", () => {
  it("prompt -> deltas and final text", async () => {
    model.script("smoke-1", [{ text: "Hello from the scripted model, in pieces.", chunks: 4 }]);
    const sse = new SseClient(`${aegis.url}/v1/events`);
    const created = await aegis.api("POST", "/v1/sessions", { workDir: aegis.claude.cwd, prompt: "smoke-1 say hi" });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const done = await sse.waitForType("message.completed", () => true, 60_000);
    expect((done.data.data as { text: string }).text).toBe("Hello from the scripted model, in pieces.");
    await sse.waitFor((e) => e.event === "session.status_changed" && (e.data.data as { to: string }).to === "idle" && (e.data.data as { reason?: string }).reason === "turn completed");
    const deltas = sse.of("message.delta").map((e) => (e.data.data as { text: string }).text).join("");
    expect(deltas).toBe("Hello from the scripted model, in pieces.");
    const t = await aegis.api<{ items: Array<{ kind: string; data: Record<string, unknown> }> }>("GET", `/v1/sessions/${id}/transcript`);
    expect(t.body.items.map((i) => i.kind)).toEqual(["user", "assistant"]);
    const m = await aegis.api("GET", `/v1/sessions/${id}/metrics`);
    console.log(JSON.stringify(m.body), JSON.stringify((await aegis.api("GET", `/v1/sessions/${id}`)).body));
    sse.close();
  });
});
