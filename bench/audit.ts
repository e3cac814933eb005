// Measures the audit trail: durable appends per second (each its own committed transaction,
// as an action would do) and the time to verify 100k records. Prints medians; never asserts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuditWriter, generateSigningKey, loadSigningKey, verifyStored } from "../src/audit";
import { openDb } from "../src/store/db";
import { migrate } from "../src/store/migrations";
import { median } from "./stats";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const APPENDS = Number(process.env.BENCH_APPENDS ?? 2000);
const VERIFY_RECORDS = Number(process.env.BENCH_VERIFY_RECORDS ?? 100_000);

const entry = (i: number) => ({
  actor: { keyId: "key_bench", role: "operator", tenant: "default", ip: "127.0.0.1" },
  action: "session.message",
  target: { type: "session", id: `ses_${i}` },
  params: { chars: i, queued: false },
  outcome: "ok" as const,
});

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "aegis-bench-audit-"));
  try {
    await generateSigningKey(join(dir, "signing.key"));
    const signer = await loadSigningKey(join(dir, "signing.key"));
    const rates: number[] = [];
    const bareRates: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const { db, raw, close } = openDb(join(dir, `append-${r}.db`));
      await migrate(db);
      const writer = createAuditWriter({ signer, policy: { everyRecords: 100, everySeconds: 60 } });
      // Baseline in the same process: the same number of committed one-row transactions without the chain.
      raw.exec("create table bare (i integer, data text)");
      const insert = raw.prepare("insert into bare values (?, ?)");
      let t = performance.now();
      for (let i = 0; i < APPENDS; i++) raw.transaction(() => insert.run(i, JSON.stringify(entry(i))))();
      bareRates.push(APPENDS / ((performance.now() - t) / 1000));
      t = performance.now();
      for (let i = 0; i < APPENDS; i++) await db.transaction().execute((tx) => writer.append(tx, [entry(i)]));
      rates.push(APPENDS / ((performance.now() - t) / 1000));
      await close();
    }

    const { db, close } = openDb(join(dir, "verify.db"));
    await migrate(db);
    const writer = createAuditWriter({ signer, policy: { everyRecords: 1000, everySeconds: 3600 } });
    for (let i = 0; i < VERIFY_RECORDS; i += 1000) {
      await db.transaction().execute((tx) =>
        writer.append(
          tx,
          Array.from({ length: 1000 }, (_, j) => entry(i + j)),
        ),
      );
    }
    const verifyTimes: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      const result = await verifyStored(db, { publicKeyPem: signer.publicKeyPem });
      verifyTimes.push(performance.now() - t);
      if (!result.ok) throw new Error(`verify failed: ${result.message}`);
    }
    await close();

    const a = median(rates);
    const b = median(bareRates);
    console.log(`audit appends (durable, one transaction each, ${APPENDS} x ${RUNS} runs)`);
    console.log(`  chained + signed checkpoints: ${a.toFixed(0)} appends/s (median)`);
    console.log(`  bare SQLite insert baseline:  ${b.toFixed(0)} inserts/s (median)`);
    console.log(`  ratio chained / bare:         ${(a / b).toFixed(2)}`);
    const v = median(verifyTimes);
    console.log(
      `verify ${VERIFY_RECORDS} records: ${(v / 1000).toFixed(2)} s (median of ${RUNS}); per 100k: ${((v / VERIFY_RECORDS) * 100).toFixed(2)} s`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
