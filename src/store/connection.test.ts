import type { Generated } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db, OpenedDb } from "./db";
import { type ScratchDb, scratchDb } from "./testing";
import type { Transact } from "./tx";

type T = { t: { id: Generated<number>; v: string } };

let scratch: ScratchDb;
let opened: OpenedDb;
let transact: Transact;
beforeEach(async () => {
  scratch = scratchDb("aegis-conn-");
  ({ opened, transact } = scratch);
  // kysely initialises its driver on the first query (a server's migrations); from then on a query
  // reaches the gate within the call that asked for it.
  await values();
});
afterEach(() => scratch.close());

const t = (db: Db) => db.withTables<T>();
const insert = (db: Db, v: string) => t(db).insertInto("t").values({ v }).execute();
const values = async () => (await t(opened.db).selectFrom("t").select("v").orderBy("id").execute()).map((r) => r.v);
/** A promise and the function that settles it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { opened, open };
}

describe("the connection's gate", () => {
  it("makes a unit of work wait for an open kysely transaction, outside it", async () => {
    const g = gate();
    const kyselyTx = opened.db.transaction().execute(async (trx) => {
      await insert(trx, "kysely");
      await g.opened;
      throw new Error("roll back");
    });
    // Had the unit run on the connection now, it would be part of the transaction above and undone with it.
    const unit = transact(async (tx) => insert(tx.db, "unit"));
    await new Promise((r) => setTimeout(r, 20));
    expect(opened.raw.prepare("select count(*) as n from t").get()).toEqual({ n: 1 });
    g.open();
    await expect(kyselyTx).rejects.toThrow("roll back");
    await unit;
    expect(await values()).toEqual(["unit"]);
  });

  it("lets units of work and kysely queries through in the order they came", async () => {
    const g = gate();
    const first = transact(async (tx) => {
      await insert(tx.db, "first");
      await g.opened;
    });
    const queued = [
      insert(opened.db, "second"),
      transact(async (tx) => insert(tx.db, "third")),
      opened.db.transaction().execute((trx) => insert(trx, "fourth")),
      transact(async (tx) => insert(tx.db, "fifth")),
    ];
    g.open();
    await Promise.all([first, ...queued]);
    expect(await values()).toEqual(["first", "second", "third", "fourth", "fifth"]);
  });

  it("gives a unit a free connection at once: its transaction is open before transact returns", async () => {
    const unit = transact(async (tx) => insert(tx.db, "now"));
    expect(opened.raw.inTransaction).toBe(true);
    await unit;
    expect(opened.raw.inTransaction).toBe(false);
    expect(await values()).toEqual(["now"]);
  });

  it("refuses a unit's handle once the unit has ended, and a nested transaction inside one", async () => {
    let leaked: Db | undefined;
    await transact(async (tx) => {
      leaked = tx.db;
      expect(() => tx.db.transaction()).toThrow(/not supported/);
    });
    await expect(insert(leaked as Db, "late")).rejects.toThrow(/after the unit ended/);
    expect(await values()).toEqual([]);
  });

  it("rolls a failed unit back and keeps the connection usable", async () => {
    await expect(
      transact(async (tx) => {
        await insert(tx.db, "undone");
        throw new Error("fail");
      }),
    ).rejects.toThrow("fail");
    expect(opened.raw.inTransaction).toBe(false);
    await transact(async (tx) => insert(tx.db, "kept"));
    expect(await values()).toEqual(["kept"]);
  });
});
