// Text deltas are paced (events.deltaIntervalMs): the first goes out at once, later text is merged,
// and every delta arrives before the message it builds.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SseClient, type SseEvent, type TestAegis } from "../support/aegis";
import { useModelForServers } from "../support/harness";
import type { ModelServer } from "../support/model-server";

let model: ModelServer;
const start = useModelForServers((m) => {
  model = m;
});

const WORDS = Array.from({ length: 12 }, (_, i) => `word${i}`).join(" ");

/** One turn whose reply streams in 12 pieces 30 ms apart; the session's events once it is idle again. */
async function streamedTurn(aegis: TestAegis, tag: string): Promise<SseEvent[]> {
  model.script(tag, [{ text: WORDS, chunks: 12, delayMs: 30 }]);
  const dir = mkdtempSync(join(tmpdir(), "aegis-wd-"));
  const created = await aegis.api<{ id: string }>("POST", "/v1/sessions", { workDir: dir, prompt: `${tag}: go` });
  expect(created.status).toBe(201);
  const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
  try {
    await sse.waitFor(
      (e) => e.event === "session.status_changed" && e.data.data.reason === "turn completed",
      60_000,
      "turn end",
    );
    return [...sse.events];
  } finally {
    sse.close();
  }
}

function deltasOf(events: SseEvent[]) {
  const deltas = events.filter((e) => e.event === "message.delta");
  const completed = events.find((e) => e.event === "message.completed");
  expect(completed?.data.data.text).toBe(WORDS);
  expect(deltas.map((e) => e.data.data.text).join("")).toBe(WORDS);
  // Every delta is stored (and sent) before the completed message.
  for (const d of deltas) expect(Number(d.id)).toBeLessThan(Number(completed?.id));
  return deltas;
}

describe("text deltas", () => {
  it("are merged to about one event per interval, the first one at once", async () => {
    const paced = deltasOf(await streamedTurn(await start({ "events.deltaIntervalMs": 100 }), "pace-100"));
    const every = deltasOf(await streamedTurn(await start({ "events.deltaIntervalMs": 0 }), "pace-0"));
    // 12 pieces over ~360 ms: unpaced, each piece is an event; at 100 ms, a handful.
    expect(every.length).toBeGreaterThanOrEqual(10);
    expect(paced.length).toBeGreaterThanOrEqual(2);
    expect(paced.length).toBeLessThanOrEqual(6);
    // The first paced delta is the first piece alone, not held back for the interval.
    expect(paced[0]?.data.data.text).toBe(every[0]?.data.data.text);
  });

  it("publishes the text still held back before a killed session ends", async () => {
    const aegis = await start({ "events.deltaIntervalMs": 1000 });
    model.script("pace-kill", [{ text: WORDS, chunks: 12, delayMs: 60 }]);
    const dir = mkdtempSync(join(tmpdir(), "aegis-wd-"));
    const created = await aegis.api<{ id: string }>("POST", "/v1/sessions", { workDir: dir, prompt: "pace-kill: go" });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    try {
      await sse.waitForType("message.delta");
      // A few more pieces arrive within the interval and are held back.
      await new Promise((r) => setTimeout(r, 250));
      expect(sse.of("message.delta")).toHaveLength(1);
      expect((await aegis.api("DELETE", `/v1/sessions/${created.body.id}`)).status).toBe(200);
      const ended = await sse.waitForType("session.ended");
      const deltas = sse.of("message.delta");
      expect(deltas.length).toBeGreaterThanOrEqual(2);
      const heldBack = deltas[1]!;
      expect(heldBack.data.data.text.length).toBeGreaterThan(0);
      expect(Number(heldBack.id)).toBeLessThan(Number(ended.id));
      expect(WORDS.startsWith(deltas.map((d) => d.data.data.text).join(""))).toBe(true);
    } finally {
      sse.close();
    }
  });
});
