import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, type OpenedDb, openDb } from "./db";
import { type Reader, startReader } from "./reader";

let dir: string;
let opened: OpenedDb;
let reader: Reader | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aegis-reader-"));
  opened = openDb(join(dir, "aegis.db"));
  opened.raw.exec("create table t (v integer not null)");
});
afterEach(async () => {
  await reader?.close();
  reader = undefined;
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = async (db: Db) => Number((await sql<{ n: number }>`select count(*) as n from t`.execute(db)).rows[0]?.n);
/** A read that keeps SQLite busy for a while: the sum of the first two million integers. */
const longRead = (db: Db) =>
  sql<{
    s: number;
  }>`with recursive c(x) as (select 1 union all select x + 1 from c where x < 2000000) select sum(x) as s from c`.execute(
    db,
  );
/** How many times the event loop came round while `work` ran. */
async function loopTurnsDuring(work: Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = async () => {
    while (!done) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
  };
  const spinning = spin();
  await work;
  done = true;
  await spinning;
  return turns;
}

describe("the database reader", () => {
  it("reads on its own connection: what the writer has committed, not its open transaction", async () => {
    reader = startReader(join(dir, "aegis.db"), opened.db);
    expect(await reader.ready).toBe(true);
    opened.raw.exec("insert into t values (1)");
    opened.raw.exec("begin; insert into t values (2)");
    expect(await count(reader.db)).toBe(1);
    expect(await count(opened.db)).toBe(2);
    opened.raw.exec("commit");
    expect(await count(reader.db)).toBe(2);
  });

  it("keeps the event loop turning through a long read, which the writer's connection would hold", async () => {
    reader = startReader(join(dir, "aegis.db"), opened.db);
    expect(await reader.ready).toBe(true);
    const [viaReader, viaWriter] = [
      await loopTurnsDuring(longRead(reader.db)),
      await loopTurnsDuring(longRead(opened.db)),
    ];
    expect(viaWriter).toBeLessThanOrEqual(1);
    expect(viaReader).toBeGreaterThan(10);
    expect((await longRead(reader.db)).rows[0]?.s).toBe((2000000 * 2000001) / 2);
  });

  it("falls back to the writer's connection when the worker cannot start, and after it closes", async () => {
    reader = startReader(join(dir, "aegis.db"), opened.db, { driver: join(dir, "no-such-driver.js") });
    expect(await reader.ready).toBe(false);
    opened.raw.exec("insert into t values (1)");
    expect(await count(reader.db)).toBe(1);

    const working = startReader(join(dir, "aegis.db"), opened.db);
    expect(await working.ready).toBe(true);
    await working.close();
    expect(await count(working.db)).toBe(1);
  });

  it("refuses writes and transactions: it only reads", async () => {
    reader = startReader(join(dir, "aegis.db"), opened.db);
    expect(await reader.ready).toBe(true);
    await expect(sql`insert into t values (3)`.execute(reader.db)).rejects.toThrow(/return rows only/);
    await expect(reader.db.transaction().execute(async () => {})).rejects.toThrow(/not transactions/);
    expect(await count(opened.db)).toBe(0);
  });
});
