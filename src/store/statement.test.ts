import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OpenedDb } from "./db";
import { statement } from "./statement";
import { type ScratchDb, scratchDb } from "./testing";
import type { Transact } from "./tx";

let scratch: ScratchDb;
let opened: OpenedDb;
let transact: Transact;
beforeEach(() => {
  scratch = scratchDb("aegis-stmt-");
  ({ opened, transact } = scratch);
});
afterEach(() => scratch.close());

const insert = statement("insert into t (v) values (?)");
const select = statement<{ v: string }>("select v from t order by id");

describe("fixed statements", () => {
  it("run inside a unit of work's transaction: a rollback takes them back", async () => {
    await expect(
      transact(async (tx) => {
        await insert.run(tx.db, ["undone"]);
        expect(await select.run(tx.db, [])).toEqual([{ v: "undone" }]);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    await transact(async (tx) => insert.run(tx.db, ["kept"]));
    expect(await select.run(opened.db, [])).toEqual([{ v: "kept" }]);
  });

  it("wait their turn outside a unit of work, never running inside another's transaction", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const unit = transact(async (tx) => {
      await insert.run(tx.db, ["inside"]);
      await held;
      throw new Error("roll back");
    });
    // Queued behind the open unit: had it run on the connection now, the rollback would take it too.
    const outside = insert.run(opened.db, ["outside"]);
    await new Promise((r) => setTimeout(r, 20));
    release();
    await expect(unit).rejects.toThrow("roll back");
    await outside;
    expect(await select.run(opened.db, [])).toEqual([{ v: "outside" }]);
  });

  it("stay bound to their unit of work only while it runs", async () => {
    let leaked: OpenedDb["db"] | undefined;
    await transact(async (tx) => {
      leaked = tx.db;
    });
    // A transaction object kept past its unit no longer reaches the connection directly.
    await expect(insert.run(leaked as OpenedDb["db"], ["late"])).rejects.toThrow();
  });
});
