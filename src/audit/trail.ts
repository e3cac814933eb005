// Store-backed trail operations: appending with checkpoints, exporting and verifying the stored chain.
import { type Clock, systemClock } from "../core/clock";
import type { Db } from "../store/db";
import { type CheckpointPolicy, CheckpointPolicySchema, checkpointDue } from "./checkpoint-policy";
import { type CsvOptions, toCsv, toNdjson } from "./export";
import type { AuditInput, AuditRecord, ChainHead, SignedCheckpoint, VerifyResult } from "./schema";
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
   * With `afterCommit` (the unit of work's hook) the writer remembers the head it committed and
   * skips reading it next time.
   */
  append(db: Db, entries: readonly AuditInput[], afterCommit?: (fn: () => void) => void): Promise<AuditRecord[]>;
  /** Signs and stores a checkpoint of the head if the policy says one is due; run it on a timer too. */
  checkpointIfDue(db: Db): Promise<SignedCheckpoint | null>;
  readonly policy: CheckpointPolicy;
}

/** The chain head and the last checkpoint, as one append leaves them. */
interface Known {
  head: ChainHead;
  checkpoint: { seq: number; time: string } | null;
}

export function createAuditWriter(deps: AuditWriterDeps = {}): AuditWriter {
  const clock = deps.clock ?? systemClock;
  const signer = deps.signer ?? null;
  const policy = CheckpointPolicySchema.parse(deps.policy ?? {});

  /**
   * The chain head and last checkpoint as of the last commit this writer saw. Only a committed
   * state is kept (a rolled-back append never gets here), and it is dropped on any failure; if
   * another writer moved the head meanwhile, the next seq collides with its primary key and the
   * append reads the head again.
   */
  let known: Known | null = null;

  async function readState(conn: Db): Promise<Known> {
    const [head, last] = await Promise.all([auditStore.head(conn), auditStore.lastCheckpoint(conn)]);
    return { head, checkpoint: last ? { seq: last.seq, time: last.time } : null };
  }

  async function checkpointOn(conn: Db, head: ChainHead, last: Known["checkpoint"]) {
    if (!signer) return null;
    const now = clock.now();
    if (!checkpointDue({ policy, lastSeq: head.seq, lastCheckpoint: last }, now)) return null;
    const cp = signCheckpoint(signer, { seq: head.seq, hash: head.hash, time: now.toISOString() });
    await auditStore.appendCheckpoint(conn, cp);
    return cp;
  }

  async function checkpointIfDue(db: Db): Promise<SignedCheckpoint | null> {
    if (!signer) return null;
    // One transaction, so a timer and an append cannot both checkpoint the same head.
    const run = async (conn: Db) => {
      const state = await readState(conn);
      return checkpointOn(conn, state.head, state.checkpoint);
    };
    const cp = await (db.isTransaction ? run(db) : db.transaction().execute(run));
    // Outside a transaction it has committed; inside one, whether it will is not known here.
    if (cp && !db.isTransaction && known) known = { ...known, checkpoint: { seq: cp.seq, time: cp.time } };
    else if (db.isTransaction) known = null;
    return cp;
  }

  /** Appends on an open transaction; `onCommit` (if any) is told the state to remember once it commits. */
  async function appendIn(conn: Db, entries: readonly AuditInput[], onCommit?: (fn: () => void) => void) {
    // Without a commit hook nobody says whether this commits: remember nothing, read fresh.
    if (!onCommit) known = null;
    const state = known ?? (await readState(conn));
    let records: AuditRecord[];
    try {
      records = await auditStore.appendMany(conn, entries, clock, state.head);
    } catch (err) {
      if (!known || !isSeqTaken(err)) throw err;
      // Another writer appended since: read the head in this transaction and go again.
      known = null;
      return appendIn(conn, entries, onCommit);
    }
    const last = records.at(-1);
    const head = last ? { seq: last.seq, hash: last.hash } : state.head;
    const cp = await checkpointOn(conn, head, state.checkpoint);
    const next = { head, checkpoint: cp ? { seq: cp.seq, time: cp.time } : state.checkpoint };
    onCommit?.(() => {
      known = next;
    });
    return records;
  }

  return {
    policy,
    checkpointIfDue,
    async append(db, entries, afterCommit) {
      try {
        if (db.isTransaction) return await appendIn(db, entries, afterCommit);
        // Its own transaction: committed once execute() returns.
        let committed: (() => void) | undefined;
        const records = await db.transaction().execute((conn) =>
          appendIn(conn, entries, (f) => {
            committed = f;
          }),
        );
        committed?.();
        return records;
      } catch (err) {
        known = null;
        throw err;
      }
    },
  };
}

function isSeqTaken(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
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
