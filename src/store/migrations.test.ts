import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type OpenedDb, openDb } from "./db";
import { migrate } from "./migrations";

let dir: string;
let opened: OpenedDb;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "aegis-migrations-"));
  opened = openDb(join(dir, "aegis.db"));
  await migrate(opened.db);
});
afterEach(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

const plan = (sql: string) =>
  (opened.raw.prepare(`explain query plan ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join("; ");

describe("migrations", () => {
  it("run once: a second migrate changes nothing", async () => {
    const before = opened.raw.prepare("select name, sql from sqlite_master order by name").all();
    await migrate(opened.db);
    expect(opened.raw.prepare("select name, sql from sqlite_master order by name").all()).toEqual(before);
  });

  it("index tool items by ref alone, and lookups by ref still use it", () => {
    const index = opened.raw.prepare("select sql from sqlite_master where name = 'transcript_ref'").get() as {
      sql: string;
    };
    expect(index.sql).toMatch(/where "ref" is not null$/i);
    expect(plan("select * from transcript_items where session_id = 's' and ref = 'toolu_1'")).toContain(
      "USING INDEX transcript_ref",
    );
  });

  it("keep events lean: no AUTOINCREMENT, no unique index on the id, and listing by session uses its index", () => {
    const events = opened.raw.prepare("select sql from sqlite_master where name = 'events'").get() as { sql: string };
    expect(events.sql).not.toMatch(/autoincrement|unique/i);
    const indexes = opened.raw.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'events'");
    expect(indexes.all()).toEqual([{ name: "events_session" }]);
    expect(plan("select * from events where session_id = 's' and seq > 5 order by seq limit 10")).toContain(
      "USING INDEX events_session",
    );
  });
});

describe("upgrading the events table (0013)", () => {
  it("runs again over what an interrupted run left (a stray events_next table)", async () => {
    const old = openDb(join(dir, "torn.db"));
    try {
      await migrate(old.db, "0012_partial_ref_index");
      old.raw
        .prepare("insert into events (id, type, session_id, time, data) values ('evt_1', 't', null, 'x', '{}')")
        .run();
      old.raw.exec("create table events_next (x)");
      await migrate(old.db);
      expect(old.raw.prepare("select seq, id from events").all()).toEqual([{ seq: 1, id: "evt_1" }]);
      expect(old.raw.inTransaction).toBe(false);
    } finally {
      await old.close();
    }
  });

  it("keeps every event and its seq, and the next event still follows the newest", async () => {
    const old = openDb(join(dir, "old.db"));
    try {
      await migrate(old.db, "0012_partial_ref_index");
      const insert = old.raw.prepare(
        "insert into events (id, type, session_id, time, data) values (?, 'session.created', ?, '2026-01-01T00:00:00.000Z', '{}')",
      );
      for (let i = 1; i <= 5; i++) insert.run(`evt_${i}`, i % 2 ? "ses_a" : null);
      // A gap, as a failed unit of work leaves one: seqs are kept as they were.
      old.raw.prepare("delete from events where id = 'evt_3'").run();
      const before = old.raw.prepare("select * from events order by seq").all();
      await migrate(old.db);
      expect(old.raw.prepare("select * from events order by seq").all()).toEqual(before);
      const next = old.raw
        .prepare(
          "insert into events (id, type, session_id, time, data) values ('evt_6', 't', null, 'x', '{}') returning seq",
        )
        .get() as { seq: number };
      expect(next.seq).toBe(6);
      expect(old.raw.prepare("select count(*) as n from sqlite_sequence where name = 'events'").get()).toEqual({
        n: 0,
      });
    } finally {
      await old.close();
    }
  });
});
