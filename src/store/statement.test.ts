import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventBus } from "../core/events";
import { type OpenedDb, openDb } from "./db";
import { statement } from "./statement";
import { createTransact, type Transact } from "./tx";

let dir: string;
let opened: OpenedDb;
let transact: Transact;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aegis-stmt-"));
  opened = openDb(join(dir, "aegis.db"));
  opened.raw.exec("create table t (id integer primary key, v text not null)");
  transact = createTransact(
    opened.db,
    async () => [],
    new EventBus(),
    async () => {},
  );
});
afterEach(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

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
