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
});
