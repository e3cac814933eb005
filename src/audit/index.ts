// The audit domain's public surface: a hash-chained, checkpoint-signed, append-only audit trail.

export { readAnchors, syncAnchors } from "./anchor";
export { canonicalJson } from "./canonical-json";
export { buildRecord, hashRecord } from "./chain";
export {
  type CheckpointPolicy,
  CheckpointPolicySchema,
  type CheckpointState,
  checkpointDue,
} from "./checkpoint-policy";
export { AuditErrors } from "./errors";
export {
  CSV_COLUMNS,
  type CsvOptions,
  checkpointLine,
  csvField,
  recordLine,
  toCsv,
  toNdjson,
} from "./export";
export * from "./schema";
export {
  type AuditSigner,
  CHECKPOINT_SIGNING_CONTEXT,
  checkpointPayload,
  type GeneratedSigningKey,
  generateSigningKey,
  type LoadedSigningKey,
  loadSigningKey,
  publicKeyId,
  publicKeyPathFor,
  signCheckpoint,
  verifyCheckpoint,
} from "./signing";
export { type AuditTables, auditMigration, auditStore, type SeqRange } from "./store";
export {
  type AuditWriter,
  type AuditWriterDeps,
  createAuditWriter,
  exportCsv,
  exportNdjson,
  type StoredRange,
  verifyStored,
} from "./trail";
export { type AuditTrail, openAuditTrail } from "./trail-service";
export { ChainVerifier, type VerifyOptions, verifyChain } from "./verify";
export { type VerifyNdjsonOptions, verifyNdjson } from "./verify-ndjson";
