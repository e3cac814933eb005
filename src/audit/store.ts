// Audit persistence (SQLite): appending to the chain, querying and streaming it, and checkpoints.
import { type Clock, systemClock } from "../core/clock";
import type { Db } from "../store/db";
import { statement } from "../store/statement";
import { newAuditId, nextRecord } from "./chain";
import {
  type AuditInput,
  AuditInputSchema,
  type AuditListFilter,
  AuditListFilterSchema,
  type AuditOutcome,
  AuditOutcomeSchema,
  type AuditRecord,
  type ChainHead,
  GENESIS_HEAD,
  type SignedCheckpoint,
} from "./schema";

export { auditMigration } from "./migration";

export interface AuditRecordsTable {
  seq: number;
  id: string;
  time: string;
  actor_key_id: string | null;
  actor_role: string | null;
  actor_tenant: string | null;
  actor_ip: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  /** The params object as canonical JSON. */
  params: string;
  outcome: string;
  error: string | null;
  prev_hash: string;
  hash: string;
}
export interface AuditCheckpointsTable {
  seq: number;
  key_id: string;
  hash: string;
  time: string;
  signature: string;
}
export type AuditTables = { audit_records: AuditRecordsTable; audit_checkpoints: AuditCheckpointsTable };

export interface SeqRange {
  /** Exclusive lower bound. */
  afterSeq?: number;
  /** Inclusive upper bound. */
  untilSeq?: number;
}

const toRow = (r: AuditRecord, paramsJson: string): AuditRecordsTable => ({
  seq: r.seq,
  id: r.id,
  time: r.time,
  actor_key_id: r.actor.keyId,
  actor_role: r.actor.role,
  actor_tenant: r.actor.tenant,
  actor_ip: r.actor.ip,
  action: r.action,
  target_type: r.target?.type ?? null,
  target_id: r.target?.id ?? null,
  params: paramsJson,
  outcome: r.outcome,
  error: r.error ?? null,
  prev_hash: r.prevHash,
  hash: r.hash,
});

const insertRecord = statement(
  "insert into audit_records (seq, id, time, actor_key_id, actor_role, actor_tenant, actor_ip, action, target_type, target_id, params, outcome, error, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
);
const rowValues = (r: AuditRecordsTable) => [
  r.seq,
  r.id,
  r.time,
  r.actor_key_id,
  r.actor_role,
  r.actor_tenant,
  r.actor_ip,
  r.action,
  r.target_type,
  r.target_id,
  r.params,
  r.outcome,
  r.error,
  r.prev_hash,
  r.hash,
];

// Not validated here: verifyChain parses every record, so a tampered row is reported there.
const toRecord = (row: AuditRecordsTable): AuditRecord => ({
  seq: Number(row.seq),
  id: row.id,
  time: row.time,
  actor: { keyId: row.actor_key_id, role: row.actor_role, tenant: row.actor_tenant, ip: row.actor_ip },
  action: row.action,
  target: row.target_type !== null && row.target_id !== null ? { type: row.target_type, id: row.target_id } : null,
  params: JSON.parse(row.params),
  outcome: row.outcome as AuditOutcome,
  ...(row.error === null ? {} : { error: row.error }),
  prevHash: row.prev_hash,
  hash: row.hash,
});

const toCheckpoint = (row: AuditCheckpointsTable): SignedCheckpoint => ({
  seq: Number(row.seq),
  hash: row.hash,
  time: row.time,
  keyId: row.key_id,
  signature: row.signature,
});

const tables = (db: Db) => db.withTables<AuditTables>();

const OUTCOMES: ReadonlySet<unknown> = new Set(AuditOutcomeSchema.options);
const INPUT_KEYS: ReadonlySet<string> = new Set(["actor", "action", "target", "params", "outcome", "error"]);
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v));
const nullableString = (v: unknown) => v === null || typeof v === "string";
/** Exactly these own keys (non-enumerable and symbol keys counted too). */
const hasKeys = (v: Record<string, unknown>, keys: readonly string[]) => {
  const own = Reflect.ownKeys(v);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(v, k));
};
/** Params zod's record check takes as they are: no symbol keys, no own `constructor` (zod reads it). */
const plainParams = (v: unknown): v is Record<string, unknown> =>
  isPlainObject(v) && Object.getOwnPropertySymbols(v).length === 0 && !Object.hasOwn(v, "constructor");

/**
 * Whether AuditInputSchema would accept `input` as it is, checked without zod: the exact shape the
 * server's own actions build, on every unit of work that audits. Anything else (extra keys to strip,
 * or an invalid entry to report) goes through the schema.
 */
export function isPlainAuditInput(input: AuditInput): boolean {
  const i = input as unknown;
  if (!isPlainObject(i) || !Reflect.ownKeys(i).every((k) => typeof k === "string" && INPUT_KEYS.has(k))) return false;
  const { actor, action, target, params, outcome, error } = i;
  return (
    isPlainObject(actor) &&
    hasKeys(actor, ["keyId", "role", "tenant", "ip"]) &&
    nullableString(actor.keyId) &&
    nullableString(actor.role) &&
    nullableString(actor.tenant) &&
    nullableString(actor.ip) &&
    typeof action === "string" &&
    action.length >= 1 &&
    action.length <= 200 &&
    (target === null ||
      (isPlainObject(target) &&
        hasKeys(target, ["type", "id"]) &&
        typeof target.type === "string" &&
        target.type.length > 0 &&
        typeof target.id === "string" &&
        target.id.length > 0)) &&
    plainParams(params) &&
    OUTCOMES.has(outcome) &&
    (error === undefined || typeof error === "string")
  );
}

/** The last record's seq and hash, or the genesis head when the chain is empty. */
async function head(db: Db): Promise<ChainHead> {
  const row = await tables(db)
    .selectFrom("audit_records")
    .select(["seq", "hash"])
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.hash } : GENESIS_HEAD;
}

/**
 * Appends records after the current head. Call it with the caller's transaction (`tx.db`) so the
 * audit write commits or rolls back with the action it records; given a plain connection it
 * opens its own transaction.
 */
async function appendMany(
  db: Db,
  inputs: readonly AuditInput[],
  clock: Clock = systemClock,
  /** The head as the caller knows it (read in this transaction, or committed by it before). */
  knownHead?: ChainHead,
): Promise<AuditRecord[]> {
  // Params stay the caller's object: zod's copy would drop "__proto__" keys, worth recording. The
  // rest is copied either way, so a caller changing its entry afterwards changes no record.
  const parsed = inputs.map((input) =>
    isPlainAuditInput(input)
      ? { ...input, actor: { ...input.actor }, target: input.target && { ...input.target } }
      : { ...AuditInputSchema.parse(input), params: input.params },
  );
  const run = async (conn: Db) => {
    let at = knownHead ?? (await head(conn));
    const out: AuditRecord[] = [];
    for (const input of parsed) {
      const { record, paramsJson } = nextRecord(at, input, { id: newAuditId(), time: clock.now().toISOString() });
      await insertRecord.run(conn, rowValues(toRow(record, paramsJson)));
      out.push(record);
      at = record;
    }
    return out;
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

async function* iterate(db: Db, batchSize = 500, range: SeqRange = {}): AsyncGenerator<AuditRecord> {
  let after = range.afterSeq ?? 0;
  for (;;) {
    let q = tables(db).selectFrom("audit_records").selectAll().where("seq", ">", after);
    if (range.untilSeq !== undefined) q = q.where("seq", "<=", range.untilSeq);
    const rows = await q.orderBy("seq").limit(batchSize).execute();
    for (const row of rows) yield toRecord(row);
    const last = rows.at(-1);
    if (!last || rows.length < batchSize) return;
    after = Number(last.seq);
    // SQLite answers synchronously: between batches other requests get their turn, so verifying or
    // exporting a long trail never holds the server.
    await new Promise((r) => setImmediate(r));
  }
}

export const auditStore = {
  head,
  appendMany,

  /** Appends one record; see appendMany for the transaction contract. */
  async append(db: Db, input: AuditInput, clock: Clock = systemClock): Promise<AuditRecord> {
    const [record] = await appendMany(db, [input], clock);
    return record!;
  },

  /** Records matching every given filter, ascending by seq; page with `afterSeq` = the last seq seen. */
  async list(db: Db, filter: AuditListFilter = {}): Promise<AuditRecord[]> {
    const f = AuditListFilterSchema.parse(filter);
    let q = tables(db).selectFrom("audit_records").selectAll();
    if (f.actorKeyId !== undefined) q = q.where("actor_key_id", "=", f.actorKeyId);
    if (f.tenant !== undefined) q = q.where("actor_tenant", "=", f.tenant);
    if (f.action !== undefined) q = q.where("action", "=", f.action);
    if (f.targetType !== undefined) q = q.where("target_type", "=", f.targetType);
    if (f.targetId !== undefined) q = q.where("target_id", "=", f.targetId);
    if (f.outcome !== undefined) q = q.where("outcome", "=", f.outcome);
    // Stored times are UTC toISOString() output, so normalised bounds compare as strings.
    if (f.from !== undefined) q = q.where("time", ">=", new Date(f.from).toISOString());
    if (f.to !== undefined) q = q.where("time", "<", new Date(f.to).toISOString());
    if (f.afterSeq !== undefined) q = q.where("seq", ">", f.afterSeq);
    const rows = await q.orderBy("seq").limit(f.limit).execute();
    return rows.map(toRecord);
  },

  /** Every record matching `filter`, fetched page by page, so an export never sits in memory whole. */
  async *matching(db: Db, filter: Omit<AuditListFilter, "limit">): AsyncGenerator<AuditRecord> {
    let after = filter.afterSeq ?? 0;
    for (;;) {
      const page = await auditStore.list(db, { ...filter, afterSeq: after, limit: 500 });
      yield* page;
      const last = page.at(-1);
      if (!last || page.length < 500) return;
      after = last.seq;
    }
  },

  /** Streams the chain in seq order, one query per batch, so an export never holds it all. */
  iterate,

  async appendCheckpoint(db: Db, cp: SignedCheckpoint): Promise<void> {
    await tables(db)
      .insertInto("audit_checkpoints")
      .values({ seq: cp.seq, key_id: cp.keyId, hash: cp.hash, time: cp.time, signature: cp.signature })
      .execute();
  },

  async listCheckpoints(db: Db, range: SeqRange = {}): Promise<SignedCheckpoint[]> {
    let q = tables(db).selectFrom("audit_checkpoints").selectAll();
    if (range.afterSeq !== undefined) q = q.where("seq", ">", range.afterSeq);
    if (range.untilSeq !== undefined) q = q.where("seq", "<=", range.untilSeq);
    return (await q.orderBy("seq").orderBy("key_id").execute()).map(toCheckpoint);
  },

  async lastCheckpoint(db: Db): Promise<SignedCheckpoint | undefined> {
    const row = await tables(db)
      .selectFrom("audit_checkpoints")
      .selectAll()
      .orderBy("seq", "desc")
      .orderBy("time", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ? toCheckpoint(row) : undefined;
  },
};
