import { appendFileSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../core/clock";
import { type OpenedDb, openDb } from "../store/db";
import { readAnchors, syncAnchors } from "./anchor";
import { auditMigration } from "./store";
import { memorySigner, sampleInput } from "./testing";
import { createAuditWriter } from "./trail";

let dir: string;
let opened: OpenedDb;
const clock: Clock = { now: () => new Date("2026-03-01T00:00:00.000Z"), monotonic: () => 0 };
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aegis-anchor-"));
  opened = openDb(join(dir, "aegis.db"));
  await auditMigration.up(opened.db as Kysely<unknown>);
});
afterEach(async () => {
  await opened.close();
  await rm(dir, { recursive: true, force: true });
});

describe("anchors", () => {
  it("a torn last line (a crash mid-append) is skipped, and the next append starts on a line of its own", async () => {
    const writer = createAuditWriter({ clock, signer: memorySigner(), policy: { everyRecords: 1, everySeconds: 60 } });
    const file = join(dir, "anchors.ndjson");
    for (let i = 1; i <= 2; i++) await writer.append(opened.db, [sampleInput(i)]);
    expect(await syncAnchors(opened.db, file)).toBe(2);
    // The second anchor's append was cut off partway.
    const text = readFileSync(file, "utf8");
    truncateSync(file, text.length - 40);
    expect((await readAnchors(file)).map((a) => a.seq)).toEqual([1]);

    await writer.append(opened.db, [sampleInput(3)]);
    expect(await syncAnchors(opened.db, file)).toBe(2);
    expect((await readAnchors(file)).map((a) => a.seq)).toEqual([1, 2, 3]);
    expect(readFileSync(file, "utf8").endsWith("\n")).toBe(true);
  });

  it("a line that is not JSON at all is not an anchor, and does not hide the others", async () => {
    const writer = createAuditWriter({ clock, signer: memorySigner(), policy: { everyRecords: 1, everySeconds: 60 } });
    const file = join(dir, "anchors.ndjson");
    writeFileSync(file, "not json\n");
    await writer.append(opened.db, [sampleInput(1)]);
    expect(await syncAnchors(opened.db, file)).toBe(1);
    appendFileSync(file, "{broken\n");
    expect((await readAnchors(file)).map((a) => a.seq)).toEqual([1]);
  });
});
