// Export formats (pure): NDJSON with interleaved signed checkpoints, and CSV (RFC 4180) for people.
//
// NDJSON export, UTF-8, one JSON object per line, each line ending in "\n":
//   - a record line is the AuditRecord itself in JCS form (RFC 8785). Its hash is re-derived by
//     dropping the "hash" member and hashing the JCS form of the rest (prevHash included);
//   - a checkpoint line is a SignedCheckpoint plus "type":"checkpoint" (also JCS, so members are
//     sorted: hash, keyId, seq, signature, time, type), placed right after the record line it
//     names; any naming a record past the last exported one are written at the end, so a
//     verifier reports the truncation.
// Records have no top-level "type", so that member tells the two apart. Checkpoints in the file
// only prove what the file's writer held; to catch a truncated file, verify it against
// checkpoints kept elsewhere too (verifyNdjson's `checkpoints`).
import { canonicalJson } from "./canonical-json";
import type { AuditRecord, SignedCheckpoint } from "./schema";

type Source<T> = Iterable<T> | AsyncIterable<T>;

export const CHECKPOINT_LINE_TYPE = "checkpoint";

export function recordLine(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}

export function checkpointLine(cp: SignedCheckpoint): string {
  return `${canonicalJson({ type: CHECKPOINT_LINE_TYPE, ...cp })}\n`;
}

/**
 * NDJSON lines for records in seq order, each followed by the checkpoints that name it.
 * `checkpoints` must be read before `records` starts streaming, so none names a record the
 * export has not reached.
 */
export async function* toNdjson(
  records: Source<AuditRecord>,
  checkpoints: Iterable<SignedCheckpoint> = [],
): AsyncGenerator<string> {
  const pending = [...checkpoints].sort((a, b) => a.seq - b.seq);
  let next = 0;
  for await (const record of records) {
    yield recordLine(record);
    // Checkpoints for records absent from the export (an earlier seq) are skipped.
    while (next < pending.length && pending[next]!.seq <= record.seq) {
      const cp = pending[next++]!;
      if (cp.seq === record.seq) yield checkpointLine(cp);
    }
  }
  while (next < pending.length) yield checkpointLine(pending[next++]!);
}

/** CSV columns, named by their path in the record. */
export const CSV_COLUMNS = [
  "seq",
  "id",
  "time",
  "actor.keyId",
  "actor.role",
  "actor.tenant",
  "actor.ip",
  "action",
  "target.type",
  "target.id",
  "params",
  "outcome",
  "error",
  "prevHash",
  "hash",
] as const;

const csvValues = (r: AuditRecord): (string | number | null)[] => [
  r.seq,
  r.id,
  r.time,
  r.actor.keyId,
  r.actor.role,
  r.actor.tenant,
  r.actor.ip,
  r.action,
  r.target?.type ?? null,
  r.target?.id ?? null,
  JSON.stringify(r.params),
  r.outcome,
  r.error ?? null,
  r.prevHash,
  r.hash,
];

// Cells a spreadsheet would evaluate as a formula (OWASP "CSV injection").
const FORMULA_START = /^[=+\-@\t\r]/;

export interface CsvOptions {
  /**
   * Prefix text cells that a spreadsheet would run as a formula with `'` (default true). Actions,
   * targets and errors can carry user-chosen text; NDJSON is the exact format.
   */
  escapeFormulas?: boolean;
}

/** One RFC 4180 field: quoted when it holds a quote, comma, CR or LF, with quotes doubled. */
export function csvField(value: string | number | null, options: CsvOptions = {}): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = options.escapeFormulas !== false && FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(values: readonly (string | number | null)[], options: CsvOptions = {}): string {
  return `${values.map((v) => csvField(v, options)).join(",")}\r\n`;
}

/** A header row, then one CRLF-terminated row per record. */
export async function* toCsv(records: Source<AuditRecord>, options: CsvOptions = {}): AsyncGenerator<string> {
  yield csvRow(CSV_COLUMNS, { escapeFormulas: false });
  for await (const record of records) yield csvRow(csvValues(record), options);
}
