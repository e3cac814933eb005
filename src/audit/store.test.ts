import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../core/clock";
import { type Db, type OpenedDb, openDb } from "../store/db";
import type { AuditListFilter, AuditRecord } from "./schema";
import { auditMigration, auditStore } from "./store";
import { memorySigner, sampleInput } from "./testing";
import { createAuditWriter, exportCsv, exportNdjson, verifyStored } from "./trail";
import { verifyNdjson } from "./verify-ndjson";

let dir: string;
let opened: OpenedDb;
let now: Date;
const clock: Clock = { now: () => now, monotonic: () => 0 };
const tick = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aegis-audit-store-"));
  opened = openDb(join(dir, "aegis.db"));
  await auditMigration.up(opened.db as Kysely<unknown>);
  now = new Date("2026-03-01T00:00:00.000Z");
});
afterEach(async () => {
  await opened.close();
  await rm(dir, { recursive: true, force: true });
});

async function appendSamples(n: number): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (let i = 1; i <= n; i++) {
    out.push(await auditStore.append(opened.db, sampleInput(i), clock));
    tick(10);
  }
  return out;
}

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

/** Tampering needs the append-only triggers gone, as an attacker with the file would do. */
const dropTriggers = () => {
  for (const t of ["audit_records", "audit_checkpoints"]) {
    for (const op of ["update", "delete"]) opened.raw.exec(`DROP TRIGGER ${t}_no_${op}`);
  }
};

describe("auditStore", () => {
  it("appends a chain that reads back exactly as written", async () => {
    const written = await appendSamples(6);
    expect(written.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await auditStore.head(opened.db)).toEqual({ seq: 6, hash: written[5]!.hash });
    expect(await auditStore.list(opened.db, { limit: 100 })).toEqual(written);
    expect(await verifyStored(opened.db)).toMatchObject({ ok: true, count: 6 });
  });

  it("commits or rolls back with the caller's transaction (fail closed)", async () => {
    opened.raw.exec("CREATE TABLE actions (id TEXT)");
    type Actions = { actions: { id: string } };
    const action = (tx: Db, id: string) => tx.withTables<Actions>().insertInto("actions").values({ id }).execute();
    const db = opened.db;

    await db.transaction().execute(async (trx) => {
      await action(trx, "a1");
      await auditStore.append(trx, sampleInput(1), clock);
    });
    // The action fails after auditing: the audit record goes too.
    await expect(
      db.transaction().execute(async (trx) => {
        await auditStore.append(trx, sampleInput(2), clock);
        throw new Error("action failed");
      }),
    ).rejects.toThrow("action failed");
    // The audit write fails: the action goes too.
    await expect(
      db.transaction().execute(async (trx) => {
        await action(trx, "a3");
        await auditStore.append(trx, { ...sampleInput(3), outcome: "maybe" as never }, clock);
      }),
    ).rejects.toThrow();

    expect((await db.withTables<Actions>().selectFrom("actions").select("id").execute()).map((r) => r.id)).toEqual([
      "a1",
    ]);
    expect((await auditStore.list(opened.db)).map((r) => r.seq)).toEqual([1]);
  });

  it("keeps the chain linear under concurrent appends", async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => auditStore.append(opened.db, sampleInput(i), clock)));
    expect(await verifyStored(opened.db)).toMatchObject({ ok: true, count: 20 });
  });

  it("is append-only to the application", async () => {
    await appendSamples(2);
    expect(() => opened.raw.exec("UPDATE audit_records SET action = 'x'")).toThrow(/append-only/);
    expect(() => opened.raw.exec("DELETE FROM audit_records")).toThrow(/append-only/);
  });

  describe("list filters", () => {
    const cases: [string, AuditListFilter, number[]][] = [
      ["everything", {}, [1, 2, 3, 4, 5, 6, 7, 8]],
      ["actor key", { actorKeyId: "key_1" }, [1, 4, 7]],
      ["tenant", { tenant: "acme" }, [1, 2, 3, 4, 5, 6, 7, 8]],
      ["other tenant", { tenant: "nobody" }, []],
      ["action", { action: "session.kill" }, [4, 8]],
      ["target id", { targetId: "ses_3" }, [3]],
      ["target type", { targetType: "session", limit: 2 }, [1, 2]],
      ["outcome", { outcome: "error" }, [5]],
      ["from (inclusive)", { from: "2026-03-01T00:01:00.000Z" }, [7, 8]],
      ["to (exclusive)", { to: "2026-03-01T00:00:20Z" }, [1, 2]],
      ["from with an offset", { from: "2026-03-01T01:00:50+01:00", to: "2026-03-01T00:01:05Z" }, [6, 7]],
      ["afterSeq and limit", { afterSeq: 3, limit: 2 }, [4, 5]],
      ["limit as a query string", { limit: "3" }, [1, 2, 3]],
      ["combined", { actorKeyId: "key_1", action: "session.create", afterSeq: 1 }, [7]],
    ];
    it.each(cases)("%s", async (_name, filter, seqs) => {
      await appendSamples(8);
      expect((await auditStore.list(opened.db, filter)).map((r) => r.seq)).toEqual(seqs);
    });
  });

  it.each([1, 3, 7, 500])("iterates in seq order with batch size %i", async (batch) => {
    const written = await appendSamples(7);
    expect(await collect(auditStore.iterate(opened.db, batch))).toEqual(written);
    expect(
      (await collect(auditStore.iterate(opened.db, batch, { afterSeq: 2, untilSeq: 5 }))).map((r) => r.seq),
    ).toEqual([3, 4, 5]);
  });
});

describe("createAuditWriter", () => {
  const signer = memorySigner();

  it("checkpoints the first record, every N records and after T seconds, in the same transaction", async () => {
    const writer = createAuditWriter({ clock, signer, policy: { everyRecords: 3, everySeconds: 60 } });
    for (let i = 1; i <= 7; i++) await writer.append(opened.db, [sampleInput(i)]);
    expect((await auditStore.listCheckpoints(opened.db)).map((c) => c.seq)).toEqual([1, 4, 7]);

    expect(await writer.checkpointIfDue(opened.db)).toBeNull();
    await writer.append(opened.db, [sampleInput(8)]);
    tick(59);
    expect(await writer.checkpointIfDue(opened.db)).toBeNull();
    tick(1);
    expect(await writer.checkpointIfDue(opened.db)).toMatchObject({ seq: 8, keyId: signer.keyId });

    await expect(
      opened.db.transaction().execute(async (trx) => {
        await writer.append(trx, [sampleInput(9), sampleInput(10), sampleInput(11)]);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow();
    expect((await auditStore.lastCheckpoint(opened.db))?.seq).toBe(8);

    expect(await verifyStored(opened.db, { publicKeyPem: signer.publicKeyPem, maxCheckpointGap: 3 })).toMatchObject({
      ok: true,
      count: 8,
      checkpointsVerified: 4,
      anchoredSeq: 8,
    });
  });

  it("does not trip over itself when appends and timer checkpoints interleave", async () => {
    const writer = createAuditWriter({ clock, signer, policy: { everyRecords: 2, everySeconds: 1 } });
    const work = Array.from({ length: 12 }, (_, i) =>
      i % 2 ? writer.append(opened.db, [sampleInput(i)]) : writer.checkpointIfDue(opened.db).then(() => tick(1)),
    );
    await Promise.all(work);
    expect(await verifyStored(opened.db, { publicKeyPem: signer.publicKeyPem, maxCheckpointGap: 2 })).toMatchObject({
      ok: true,
      count: 6,
    });
  });

  describe("remembering the committed head (units of work pass their afterCommit hook)", () => {
    /** One unit of work as store/tx runs it: the hooks run only once the transaction committed. */
    async function unit(writer: ReturnType<typeof createAuditWriter>, i: number, rollback = false) {
      const hooks: Array<() => void> = [];
      await opened.db.transaction().execute(async (trx) => {
        await writer.append(trx, [sampleInput(i)], (f) => hooks.push(f));
        if (rollback) throw new Error("rolled back");
      });
      for (const f of hooks) f();
    }
    const seqs = async () => (await auditStore.list(opened.db, { limit: 100 })).map((r) => r.seq);

    it("chains on the committed head after a rollback, not on the rolled-back record", async () => {
      const writer = createAuditWriter({ clock, signer, policy: { everyRecords: 2 } });
      await unit(writer, 1);
      await unit(writer, 2);
      await expect(unit(writer, 3, true)).rejects.toThrow("rolled back");
      await unit(writer, 4);
      expect(await seqs()).toEqual([1, 2, 3]);
      expect(await verifyStored(opened.db, { publicKeyPem: signer.publicKeyPem, maxCheckpointGap: 2 })).toMatchObject({
        ok: true,
        count: 3,
      });
    });

    it("reads the head again when another writer appended meanwhile", async () => {
      const writer = createAuditWriter({ clock, signer, policy: { everyRecords: 2 } });
      await unit(writer, 1);
      await unit(writer, 2);
      const other = createAuditWriter({ clock, signer, policy: { everyRecords: 2 } });
      await other.append(opened.db, [sampleInput(3), sampleInput(4)]);
      await unit(writer, 5);
      await unit(writer, 6);
      expect(await seqs()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await verifyStored(opened.db, { publicKeyPem: signer.publicKeyPem, maxCheckpointGap: 2 })).toMatchObject({
        ok: true,
        count: 6,
      });
    });

    it("checkpoints on schedule while it remembers the last checkpoint", async () => {
      const writer = createAuditWriter({ clock, signer, policy: { everyRecords: 3, everySeconds: 3600 } });
      for (let i = 1; i <= 7; i++) await unit(writer, i);
      expect((await auditStore.listCheckpoints(opened.db)).map((c) => c.seq)).toEqual([1, 4, 7]);
    });
  });

  it("only chains when there is no signer", async () => {
    const writer = createAuditWriter({ clock });
    await writer.append(opened.db, [sampleInput(1), sampleInput(2)]);
    expect(await auditStore.listCheckpoints(opened.db)).toEqual([]);
    expect(await writer.checkpointIfDue(opened.db)).toBeNull();
  });

  describe("tampering with the database file", () => {
    const cases: [string, string, string, number][] = [
      ["a param edited", 'UPDATE audit_records SET params = \'{"workDir":"/etc"}\' WHERE seq = 5', "hash_mismatch", 5],
      ["an outcome edited", "UPDATE audit_records SET outcome = 'ok' WHERE seq = 5", "hash_mismatch", 5],
      ["a target removed", "UPDATE audit_records SET target_type = NULL WHERE seq = 2", "hash_mismatch", 2],
      ["a record deleted", "DELETE FROM audit_records WHERE seq = 3", "seq_gap", 3],
      ["the tail deleted", "DELETE FROM audit_records WHERE seq > 6", "truncated", 7],
      [
        "a checkpoint's time edited",
        "UPDATE audit_checkpoints SET time = '2030-01-01T00:00:00.000Z' WHERE seq = 4",
        "checkpoint_signature",
        2,
      ],
      [
        "a checkpoint's hash edited",
        "UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_records WHERE seq = 3) WHERE seq = 4",
        "checkpoint_signature",
        2,
      ],
      [
        "two records' seqs swapped",
        "UPDATE audit_records SET seq = -1 WHERE seq = 5; UPDATE audit_records SET seq = 5 WHERE seq = 6; UPDATE audit_records SET seq = 6 WHERE seq = -1",
        "hash_mismatch",
        5,
      ],
    ];
    it.each(cases)("%s → %s at %i", async (_name, statement, reason, firstBadSeq) => {
      const writer = createAuditWriter({ clock, signer, policy: { everyRecords: 3 } });
      for (let i = 1; i <= 8; i++) await writer.append(opened.db, [sampleInput(i)]);
      dropTriggers();
      opened.raw.exec(statement);
      expect(await verifyStored(opened.db, { publicKeyPem: signer.publicKeyPem })).toMatchObject({
        ok: false,
        reason,
        firstBadSeq,
      });
    });
  });
});

describe("stored exports", () => {
  it("exports NDJSON that verifies offline, and CSV with a row per record", async () => {
    const signer = memorySigner();
    const writer = createAuditWriter({ clock, signer, policy: { everyRecords: 4 } });
    for (let i = 1; i <= 10; i++) await writer.append(opened.db, [sampleInput(i)]);

    const ndjson = await collect(exportNdjson(opened.db, { batchSize: 3 }));
    expect(ndjson.filter((l) => JSON.parse(l).type === "checkpoint")).toHaveLength(3);
    expect(await verifyNdjson(ndjson, signer.publicKeyPem)).toMatchObject({ ok: true, count: 10, anchoredSeq: 9 });

    const csv = await collect(exportCsv(opened.db, { batchSize: 4 }));
    expect(csv).toHaveLength(11);
  });

  it("puts checkpoints past a truncated table at the end of the export", async () => {
    const signer = memorySigner();
    const writer = createAuditWriter({ clock, signer, policy: { everyRecords: 4 } });
    for (let i = 1; i <= 10; i++) await writer.append(opened.db, [sampleInput(i)]);
    dropTriggers();
    opened.raw.exec("DELETE FROM audit_records WHERE seq > 6");
    const ndjson = await collect(exportNdjson(opened.db));
    expect(await verifyNdjson(ndjson, signer.publicKeyPem)).toMatchObject({
      ok: false,
      reason: "truncated",
      firstBadSeq: 7,
    });
  });
});
