import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type OpenedDb, openDb } from "../store/db";
import { migrate } from "../store/migrations";
import { type KeyRecord, keyStore } from "./store";

let dir: string;
let opened: OpenedDb;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "aegis-keys-"));
  opened = openDb(join(dir, "aegis.db"));
  await migrate(opened.db);
});
afterEach(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

const key: KeyRecord = {
  id: "key_01aaaaaaaaaaaaaaaaaaaaaaaa",
  name: "k",
  role: "viewer",
  tenant: "default",
  scopes: null,
  rateLimitPerMinute: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  createdBy: null,
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  secretHash: "hash-0",
  previousHash: null,
  previousValidUntil: null,
  rotatedTo: null,
};

describe("keyStore.rotate", () => {
  it("rotates only from the secret the caller read: a second rotation from the same one loses", async () => {
    await keyStore.insert(opened.db, key);
    const until = "2026-01-01T00:01:00.000Z";
    expect(await keyStore.rotate(opened.db, key.id, "hash-0", "hash-1", until)).toBe(true);
    expect(await keyStore.rotate(opened.db, key.id, "hash-0", "hash-2", until)).toBe(false);
    const stored = await keyStore.get(opened.db, key.id);
    expect(stored).toMatchObject({ secretHash: "hash-1", previousHash: "hash-0" });
  });
});
