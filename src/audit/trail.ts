// Store-backed trail operations: appending with checkpoints, exporting and verifying the stored chain.
import { type Clock, systemClock } from "../core/clock";
import type { Db } from "../store/db";
import { type CheckpointPolicy, CheckpointPolicySchema, checkpointDue } from "./checkpoint-policy";
import { type CsvOptions, toCsv, toNdjson } from "./export";
import type { AuditInput, AuditRecord, SignedCheckpoint, VerifyResult } from "./schema";
import { type AuditSigner, signCheckpoint } from "./signing";
import { auditStore } from "./store";
import { type VerifyOptions, verifyChain } from "./verify";

export interface AuditWriterDeps {
  clock?: Clock;
  /** Without a signer records are chained but never checkpointed. */
  signer?: Pick<AuditSigner, "keyId" | "privateKey"> | null;
  policy?: Partial<CheckpointPolicy>;
}

export interface AuditWriter {
  /**
   * Appends the entries and, when due, a signed checkpoint, all on `db`: pass the unit of
   * work's `tx.db` so both commit or roll back with the action. Fits store/tx's AuditAppender.
   */
  append(db: Db, entries: readonly AuditInput[]): Promise<AuditRecord[]>;
  /** Signs and stores a checkpoint of the head if the policy says one is due; run it on a timer too. */
  checkpointIfDue(db: Db): Promise<SignedCheckpoint | null>;
  readonly policy: CheckpointPolicy;
}

export function createAuditWriter(deps: AuditWriterDeps = {}): AuditWriter {
  const clock = deps.clock ?? systemClock;
  const signer = deps.signer ?? null;
  const policy = CheckpointPolicySchema.parse(deps.policy ?? {});

  async function checkpointIfDue(db: Db): Promise<SignedCheckpoint | null> {
    if (!signer) return null;
    // One transaction, so a timer and an append cannot both checkpoint the same head.
    const run = async (conn: Db) => {
      const [head, last] = await Promise.all([auditStore.head(conn), auditStore.lastCheckpoint(conn)]);
      const now = clock.now();
      if (!checkpointDue({ policy, lastSeq: head.seq, lastCheckpoint: last ?? null }, now)) return null;
      const cp = signCheckpoint(signer, { seq: head.seq, hash: head.hash, time: now.toISOString() });
      await auditStore.appendCheckpoint(conn, cp);
      return cp;
    };
    return db.isTransaction ? run(db) : db.transaction().execute(run);
  }

  return {
    policy,
    checkpointIfDue,
    async append(db, entries) {
      const run = async (conn: Db) => {
        const records = await auditStore.appendMany(conn, entries, clock);
        await checkpointIfDue(conn);
        return records;
      };
      return db.isTransaction ? run(db) : db.transaction().execute(run);
    },
  };
}

export interface StoredRange {
  /** Stop at this seq (default: the head when the export starts). */
  untilSeq?: number;
  batchSize?: number;
}

/** The whole chain up to the current head as NDJSON lines with its checkpoints interleaved. */
export async function* exportNdjson(db: Db, range: StoredRange = {}): AsyncGenerator<string> {
  // Checkpoints are read before the head, so each names a record the export reaches unless the
  // table was truncated, and then it lands at the end where a verifier reports it.
  const checkpoints = await auditStore.listCheckpoints(db, { untilSeq: range.untilSeq });
  const untilSeq = range.untilSeq ?? (await auditStore.head(db)).seq;
  yield* toNdjson(auditStore.iterate(db, range.batchSize, { untilSeq }), checkpoints);
}

export async function* exportCsv(db: Db, range: StoredRange & CsvOptions = {}): AsyncGenerator<string> {
  const untilSeq = range.untilSeq ?? (await auditStore.head(db)).seq;
  yield* toCsv(auditStore.iterate(db, range.batchSize, { untilSeq }), range);
}

/**
 * Verifies the stored chain against the stored checkpoints plus any `checkpoints` kept elsewhere.
 * Only the stored checkpoints that exist when it starts are used.
 */
export async function verifyStored(
  db: Db,
  options: Omit<VerifyOptions, "checkpoints"> & { checkpoints?: Iterable<SignedCheckpoint>; batchSize?: number } = {},
): Promise<VerifyResult> {
  const stored = await auditStore.listCheckpoints(db);
  const records = auditStore.iterate(db, options.batchSize);
  return verifyChain(records, { ...options, checkpoints: [...stored, ...(options.checkpoints ?? [])] });
}
