import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../core/clock";
import { type OpenedDb, openDb } from "../store/db";
import { migrate } from "../store/migrations";
import { EventStore } from "./store";

let dir: string;
let opened: OpenedDb;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aegis-events-"));
  opened = openDb(join(dir, "aegis.db"));
  await migrate(opened.db);
});
afterEach(async () => {
  await opened.close();
  await rm(dir, { recursive: true, force: true });
});

describe("event store", () => {
  it("stores a unit of work's events in the order given, each with its own rising sequence", async () => {
    const store = new EventStore(systemClock);
    // More than one INSERT takes, so the chunks must line up too.
    const pending = Array.from({ length: 1_234 }, (_, i) => ({
      type: i % 2 ? "test.odd" : "test.even",
      sessionId: i % 3 ? null : "ses_x",
      data: { i },
    }));
    const stored = await store.append(opened.db, pending);
    expect(stored.map((e) => e.data)).toEqual(pending.map((p) => p.data));
    const seqs = stored.map((e) => e.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    const listed = await store.list(opened.db, { limit: 5_000 });
    expect(listed.map((e) => [e.seq, e.id, e.type, e.sessionId, e.data])).toEqual(
      stored.map((e) => [e.seq, e.id, e.type, e.sessionId, e.data]),
    );
    const next = await store.append(opened.db, [{ type: "test.after", sessionId: null, data: {} }]);
    expect(next[0]?.seq).toBeGreaterThan(seqs.at(-1) as number);
    expect(await store.append(opened.db, [])).toEqual([]);
  });
});
