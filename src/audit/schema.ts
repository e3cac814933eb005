// Audit trail shapes: records, append input, checkpoints, list filters and verification results.
import { z } from "zod";
import { wholeNumber, wholeSeq } from "../core/whole-number";

/** Lowercase SHA-256 hex digest. */
export const HashSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase SHA-256 hex digest");

/** The prevHash of the first record. */
export const GENESIS_HASH = "0".repeat(64);

// core/ids has no audit prefix yet, so ids are prefix-free ULIDs; `aud_` is accepted so stored
// and exported records stay valid if the prefix is added later.
export const AuditIdSchema = z.string().regex(/^(?:aud_)?[0-9a-z]{26}$/, "must be an audit record id (a ULID)");

export const AuditActorSchema = z.strictObject({
  keyId: z.string().nullable(),
  role: z.string().nullable(),
  tenant: z.string().nullable(),
  ip: z.string().nullable(),
});
export type AuditActor = z.infer<typeof AuditActorSchema>;

export const AuditTargetSchema = z.strictObject({ type: z.string().min(1), id: z.string().min(1) });
export type AuditTarget = z.infer<typeof AuditTargetSchema>;

export const AuditOutcomeSchema = z.enum(["ok", "denied", "error"]);
export type AuditOutcome = z.infer<typeof AuditOutcomeSchema>;

/** What a caller hands in: the record minus what the chain assigns (seq, id, time, hashes). */
export const AuditInputSchema = z.object({
  actor: AuditActorSchema,
  action: z.string().min(1).max(200).describe("`resource.verb`, e.g. `session.create`."),
  target: AuditTargetSchema.nullable(),
  params: z.record(z.string(), z.unknown()).describe("Parameters of the action, secrets already removed."),
  outcome: AuditOutcomeSchema,
  error: z.string().optional(),
});
export type AuditInput = z.infer<typeof AuditInputSchema>;

// Strict objects: an exported record with an extra field is reported as malformed instead of
// the field being silently dropped before hashing.
export const AuditRecordSchema = z.strictObject({
  seq: z.int().positive(),
  id: AuditIdSchema,
  time: z.iso.datetime(),
  actor: AuditActorSchema,
  action: z.string().min(1),
  target: AuditTargetSchema.nullable(),
  params: z.record(z.string(), z.json()),
  outcome: AuditOutcomeSchema,
  error: z.string().optional(),
  prevHash: HashSchema,
  hash: HashSchema,
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/** The end of a chain: the last record's seq and hash (seq 0 and GENESIS_HASH when empty). */
export interface ChainHead {
  seq: number;
  hash: string;
}
export const GENESIS_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** The statement a checkpoint signs: "the chain up to `seq` ends in `hash`", made at `time`. */
export const CheckpointSchema = z.strictObject({
  seq: z.int().positive(),
  hash: HashSchema,
  time: z.iso.datetime(),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

export const SignedCheckpointSchema = CheckpointSchema.extend({
  keyId: z.string().min(1).describe("Fingerprint of the Ed25519 public key that signed it."),
  signature: z.base64().describe("Ed25519 signature, standard base64."),
});
export type SignedCheckpoint = z.infer<typeof SignedCheckpointSchema>;

export const AuditListFilterSchema = z.object({
  actorKeyId: z.string().optional(),
  tenant: z.string().optional(),
  action: z.string().optional(),
  targetType: z.string().optional(),
  targetId: z.string().optional().describe("A session id, approval id, key id, ... as recorded in target.id."),
  outcome: AuditOutcomeSchema.optional(),
  from: z.iso.datetime({ offset: true }).optional().describe("Inclusive lower bound on time."),
  to: z.iso.datetime({ offset: true }).optional().describe("Exclusive upper bound on time."),
  afterSeq: wholeSeq().optional().describe("Return records after this seq (paging)."),
  // 1001: the API's largest page (1000) plus the one record that tells whether another page follows.
  limit: wholeNumber(1, 1001).prefault(100),
});
export type AuditListFilter = z.input<typeof AuditListFilterSchema>;

export const VerifyFailureReasonSchema = z.enum([
  "malformed",
  "hash_mismatch",
  "prev_hash_mismatch",
  "seq_gap",
  "seq_order",
  "checkpoint_mismatch",
  "checkpoint_signature",
  "checkpoint_missing",
  "truncated",
]);
export type VerifyFailureReason = z.infer<typeof VerifyFailureReasonSchema>;

export const VerifyOkSchema = z.object({
  ok: z.literal(true),
  count: z.int().nonnegative(),
  lastSeq: z.int().nonnegative(),
  lastHash: HashSchema,
  checkpointsVerified: z.int().nonnegative(),
  anchoredSeq: z.int().nonnegative().describe("Highest seq vouched for by a verified checkpoint (0 if none)."),
});

export const VerifyFailureSchema = z.object({
  ok: z.literal(false),
  firstBadSeq: z
    .int()
    .positive()
    .describe(
      "Lowest seq that can no longer be trusted: the altered, missing or misplaced record; for a broken " +
        "link, the earlier record of the link unless a checkpoint vouches for it; for checkpoint failures, " +
        "the first seq after the last checkpoint that verified.",
    ),
  reason: VerifyFailureReasonSchema,
  message: z.string(),
});

export const VerifyResultSchema = z.discriminatedUnion("ok", [VerifyOkSchema, VerifyFailureSchema]);
export type VerifyResult = z.infer<typeof VerifyResultSchema>;
export type VerifyFailure = z.infer<typeof VerifyFailureSchema>;
