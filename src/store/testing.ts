// Test support for store tests: a fresh database file with a table `t (id, v)` and a unit-of-work
// runner that stores no events and no audit.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBus } from "../core/events";
import { type OpenedDb, openDb } from "./db";
import { createTransact, type Transact } from "./tx";

export interface ScratchDb {
  opened: OpenedDb;
  transact: Transact;
  close(): Promise<void>;
}

export function scratchDb(prefix: string): ScratchDb {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const opened = openDb(join(dir, "aegis.db"));
  opened.raw.exec("create table t (id integer primary key, v text not null)");
  const transact = createTransact(
    opened.db,
    async () => [],
    new EventBus(),
    async () => {},
  );
  return {
    opened,
    transact,
    async close() {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
