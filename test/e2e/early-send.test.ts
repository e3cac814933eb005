// A prompt goes to Claude Code while its record commits, and the model gateway holds the session's
// model requests until it has: the real Claude Code, with the database held up on purpose.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { SseClient, type TestAegis } from "../support/aegis";
import { useModelForServers } from "../support/harness";
import type { ModelServer } from "../support/model-server";
import { sleep } from "../support/model-sse";
import { until } from "../support/until";

type Json = Record<string, any>;
let model: ModelServer;
const aegisWith = useModelForServers((m) => {
  model = m;
});
const freshDir = () => mkdtempSync(join(tmpdir(), "aegis-early-"));

/** Takes the database's connection (as a long unit of work would) until the returned function is called. */
function holdDatabase(aegis: TestAegis): () => Promise<void> {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const held = aegis.app.db.transaction().execute(() => released);
  return async () => {
    release();
    await held;
  };
}

/** A session that has finished one turn (so a prompt can go early: there is a point to cut back to). */
async function sessionAfterOneTurn(aegis: TestAegis, tag: string) {
  const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: freshDir(), prompt: `${tag}: hi` });
  const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
  await sse.waitTurnsEnded(1);
  return { id: created.body.id as string, sse };
}

/** The gateway's count of model requests held for their prompt's record. */
async function held(aegis: TestAegis): Promise<number> {
  const text = (await aegis.api<string>("GET", "/metrics")).body;
  return Number(/^aegis_gateway_requests_held (\d+)/m.exec(String(text))?.[1] ?? Number.NaN);
}

describe("a prompt sent while its record commits", () => {
  it("reaches the model only once its record and audit entry have committed", async () => {
    const aegis = await aegisWith();
    const script = model.script("early-held", [{ text: "first answer" }, { text: "after the record" }]);
    const { id, sse } = await sessionAfterOneTurn(aegis, "early-held");

    const release = holdDatabase(aegis);
    const sent = aegis.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "early-held: hello" });
    // Claude Code has the prompt although its record waits for the database: its model request is
    // at the gateway, held there.
    await until("the model request held at the gateway", async () => ((await held(aegis)) === 1 ? true : undefined));
    await sleep(200);
    expect(script.requests).toHaveLength(1);
    const releasedAt = performance.now();
    await release();

    expect((await sent).status).toBe(202);
    await sse.waitForType("message.completed", (d) => d.text === "after the record");
    expect(script.requests).toHaveLength(2);
    expect(script.requests[1]?.receivedHr).toBeGreaterThan(releasedAt);
    const audit = await aegis.api<Json>("GET", `/v1/audit?action=session.message&sessionId=${id}`);
    expect(audit.body.items).toHaveLength(1);
    sse.close();
  });

  it("never reaches the model if its record cannot commit, and the session stays usable without it", async () => {
    const aegis = await aegisWith();
    model.script("early-lost", [{ text: "first answer" }, { text: "answered without the lost prompt" }]);
    const { id, sse } = await sessionAfterOneTurn(aegis, "early-lost");
    // The database refuses the prompt's audit entry (a stand-in for a disk or audit failure).
    await sql`create trigger refuse_message before insert on audit_records when new.action = 'session.message'
      begin select raise(abort, 'injected failure'); end`.execute(aegis.app.db);

    const release = holdDatabase(aegis);
    const sent = aegis.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "early-lost: secret plan" });
    await until("the model request held at the gateway", async () => ((await held(aegis)) === 1 ? true : undefined));
    await release();
    const answer = await sent;
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe("AUDIT_UNAVAILABLE");
    await sql`drop trigger refuse_message`.execute(aegis.app.db);

    // Claude Code was restarted on its conversation without the prompt; the session takes the next one.
    expect((await aegis.api<Json>("GET", `/v1/sessions/${id}`)).body.status).toBe("idle");
    const next = await aegis.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "early-lost: next" });
    expect(next.status).toBe(202);
    await sse.waitForType("message.completed", (d) => d.text === "answered without the lost prompt");
    const transcript = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
    expect(transcript.body.items.filter((i: Json) => i.kind === "user").map((i: Json) => i.data.text)).toEqual([
      "early-lost: hi",
      "early-lost: next",
    ]);
    // The model saw the conversation as recorded: the first exchange and the next prompt, never the lost one.
    const last = model.requests.at(-1);
    expect(JSON.stringify(last?.body)).toContain("first answer");
    expect(model.requests.some((r) => JSON.stringify(r.body).includes("secret plan"))).toBe(false);
    sse.close();
  });
});
