import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { until } from "../../test/support/until";
import { FALLBACK_CHECKPOINT_PAGES } from "./checkpointer";
import { type OpenedDb, openDb } from "./db";

let dir: string;
let file: string;
let opened: OpenedDb | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aegis-ckpt-"));
  file = join(dir, "aegis.db");
});
afterEach(async () => {
  await opened?.close();
  opened = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Writes about `pages` 4 KiB pages of new rows in small transactions, as a busy server does. */
function write(raw: Database.Database, pages: number) {
  raw.exec("create table if not exists t (id integer primary key, v blob)");
  const insert = raw.prepare("insert into t (v) values (?)");
  for (let i = 0; i < pages; i++) raw.transaction(() => insert.run(Buffer.alloc(3500, i % 251)))();
}
const autoCheckpoint = (raw: Database.Database) => raw.pragma("wal_autocheckpoint", { simple: true });

describe("WAL checkpoints", () => {
  it("run on the worker, not in the writer's commits, and close leaves the file whole without a WAL", async () => {
    opened = openDb(file, { checkpoints: { intervalMs: 20 } });
    expect(opened.checkpointer?.active).toBe(true);
    expect(autoCheckpoint(opened.raw)).toBe(FALLBACK_CHECKPOINT_PAGES);
    const before = statSync(file).size;
    write(opened.raw, 1500);
    // Only a checkpoint moves pages from the WAL into the database file, and the writer does none.
    await until("the worker's checkpoint", async () => (statSync(file).size > before + 1400 * 4096 ? true : undefined));
    expect(opened.checkpointer?.active).toBe(true);

    await opened.close();
    opened = undefined;
    expect(existsSync(`${file}-wal`)).toBe(false);
    const reread = new Database(file, { readonly: true });
    expect(reread.prepare("select count(*) as n from t").get()).toEqual({ n: 1500 });
    reread.close();
  });

  it("keep the WAL bounded under writes that never pause (the writer steps in past its threshold)", async () => {
    opened = openDb(file, { checkpoints: { intervalMs: 5 } });
    const raw = opened.raw;
    raw.exec("create table t (id integer primary key, v blob)");
    const insert = raw.prepare("insert into t (v) values (?)");
    const frames = () => statSync(`${file}-wal`).size / (4096 + 24);
    let most = 0;
    // Four times the threshold: a WAL nobody bounded would hold all of it (16,000+ frames).
    for (let i = 0; i < FALLBACK_CHECKPOINT_PAGES * 4; i++) {
      raw.transaction(() => insert.run(Buffer.alloc(3500, i % 251)))();
      // Commits keep landing while the worker checkpoints, so it never copies the whole WAL.
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      most = Math.max(most, frames());
    }
    expect(opened.checkpointer?.active).toBe(true);
    // Past the threshold while a worker's checkpoint holds the lock (6,333 frames once, under a full
    // suite on 2 cores), never near all that was written.
    expect(most).toBeLessThan(FALLBACK_CHECKPOINT_PAGES * 2);
  });

  it("fall back to SQLite's automatic checkpoints when the worker cannot start", async () => {
    opened = openDb(file, { checkpoints: { driver: join(dir, "no-such-driver.js") } });
    await until("the fallback", async () => (opened?.checkpointer?.active === false ? true : undefined));
    expect(autoCheckpoint(opened.raw)).toBe(1000);
    const before = statSync(file).size;
    write(opened.raw, 1500);
    // The writer's own automatic checkpoint ran inside a commit: the file grew, synchronously.
    expect(statSync(file).size).toBeGreaterThan(before + 900 * 4096);
  });

  it("are not needed for an in-memory database", async () => {
    opened = openDb(":memory:");
    expect(opened.checkpointer).toBeNull();
  });
});
