// The running audit trail: the signing key, the writer every unit of work appends through,
// timed checkpoints, and the anchor file beside the database.
import { existsSync } from "node:fs";
import type { AuditEntry } from "../core/audit";
import type { Clock } from "../core/clock";
import type { Logger } from "../core/log";
import type { Db } from "../store/db";
import { readAnchors, syncAnchors } from "./anchor";
import { generateSigningKey, loadSigningKey } from "./signing";
import { createAuditWriter, verifyStored } from "./trail";

export interface AuditTrailOptions {
  signingKeyPath: string;
  anchorFile: string;
  everyRecords: number;
  everySeconds: number;
  clock: Clock;
  log: Logger;
}

export async function openAuditTrail(db: Db, o: AuditTrailOptions) {
  if (!existsSync(o.signingKeyPath)) {
    const made = await generateSigningKey(o.signingKeyPath);
    o.log.info(
      { publicKey: made.publicKeyPath },
      "created the audit signing key; keep a copy of the public key elsewhere",
    );
  }
  const signer = await loadSigningKey(o.signingKeyPath);
  if (signer.permissionsTooOpen)
    o.log.warn({ path: o.signingKeyPath }, "the audit signing key is readable by others; chmod 600 it");
  const writer = createAuditWriter({
    clock: o.clock,
    signer,
    policy: { everyRecords: o.everyRecords, everySeconds: o.everySeconds },
  });

  const tick = async () => {
    await writer.checkpointIfDue(db);
    await syncAnchors(db, o.anchorFile);
  };
  const timer = setInterval(() => {
    tick().catch((err) => o.log.error({ err }, "audit checkpoint failed"));
  }, o.everySeconds * 1000);
  timer.unref();

  return {
    publicKeyPem: signer.publicKeyPem,
    keyId: signer.keyId,
    append: async (tx: Db, entries: AuditEntry[], afterCommit?: (fn: () => void) => void) => {
      await writer.append(tx, entries, afterCommit);
    },
    /** Checks the stored chain against stored and anchored checkpoints. */
    verify: async () =>
      verifyStored(db, { publicKeyPem: signer.publicKeyPem, checkpoints: await readAnchors(o.anchorFile) }),
    anchors: () => readAnchors(o.anchorFile),
    tick,
    async close() {
      clearInterval(timer);
      await tick().catch((err) => o.log.error({ err }, "final audit checkpoint failed"));
    },
  };
}

export type AuditTrail = Awaited<ReturnType<typeof openAuditTrail>>;
