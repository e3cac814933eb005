// Chain verification: a streaming verifier that holds O(checkpoints) state and names the first bad seq.
import type { KeyObject } from "node:crypto";
import { hashRecord } from "./chain";
import {
  type AuditRecord,
  AuditRecordSchema,
  type ChainHead,
  GENESIS_HEAD,
  type SignedCheckpoint,
  SignedCheckpointSchema,
  type VerifyFailure,
  type VerifyFailureReason,
  type VerifyResult,
} from "./schema";
import { parsePublicKey, publicKeyId, verifyCheckpoint } from "./signing";

export interface VerifyOptions {
  /**
   * Public key(s) that may have signed checkpoints (several after a key rotation). Without one,
   * checkpoint signatures are not checked and checkpoints only anchor hashes: use that only for
   * checkpoints from a source already trusted.
   */
  publicKeyPem?: string | readonly string[];
  /** Checkpoints from anywhere (the store, an off-box copy), in any order. */
  checkpoints?: Iterable<SignedCheckpoint>;
  /**
   * Fail with `checkpoint_missing` when more than this many records follow the last verified
   * checkpoint. Pass the policy's `everyRecords` when the checkpoints are known to be complete:
   * it catches a chain rewritten after its checkpoints were deleted.
   */
  maxCheckpointGap?: number;
}

const issueText = (issues: readonly { path: PropertyKey[]; message: string }[]) =>
  issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ");

/**
 * Feed records in seq order (and checkpoints, before or right after the record they name), then
 * call finish(). Each feed returns false once the chain has failed; later input is ignored.
 */
export class ChainVerifier {
  private head: ChainHead = GENESIS_HEAD;
  private count = 0;
  private anchoredSeq = 0;
  private checkpointsVerified = 0;
  /** Checkpoints for records not seen yet, ascending by seq, from index `pendingAt` on. */
  private pending: SignedCheckpoint[] = [];
  private pendingAt = 0;
  /** A seq jump waiting one record to tell a deletion (`seq_gap`) from a reorder (`seq_order`). */
  private gap: { expected: number; seen: number } | null = null;
  private failure: VerifyFailure | null = null;
  private readonly keys: Map<string, KeyObject> | null;
  private readonly maxGap: number | undefined;

  constructor(options: Omit<VerifyOptions, "checkpoints"> = {}) {
    const pems = options.publicKeyPem === undefined ? [] : [options.publicKeyPem].flat();
    const keys = pems.map((pem) => parsePublicKey(pem));
    this.keys = keys.length === 0 ? null : new Map(keys.map((key) => [publicKeyId(key), key]));
    this.maxGap = options.maxCheckpointGap;
  }

  /** Records a failure found outside the verifier (e.g. an unparseable export line). */
  reject(reason: VerifyFailureReason, message: string): false {
    return this.fail(reason, this.nextSeq(), message);
  }

  record(raw: unknown): boolean {
    if (this.failure) return false;
    const parsed = AuditRecordSchema.safeParse(raw);
    if (!parsed.success) {
      return this.fail("malformed", this.nextSeq(), `record is malformed: ${issueText(parsed.error.issues)}`);
    }
    // Hash the input, not zod's copy: zod drops "__proto__" keys, which would hide an added one.
    const r = raw as AuditRecord;
    if (this.gap) {
      // Seqs going back after the jump mean records were moved; still ascending, one was removed.
      const { expected, seen } = this.gap;
      return r.seq < seen
        ? this.fail("seq_order", expected, `record ${seen} appears where ${expected} belongs, before ${r.seq}`)
        : this.fail("seq_gap", expected, `record ${expected} is missing: ${this.head.seq} is followed by ${seen}`);
    }
    const expected = this.head.seq + 1;
    // Hash first: a record whose seq was edited is an altered record, not a gap or a reorder.
    if (hashRecord(r) !== r.hash) {
      return this.fail(
        "hash_mismatch",
        expected,
        `record ${expected} does not hash to its stored hash: it was altered`,
      );
    }
    if (r.seq > expected) {
      this.gap = { expected, seen: r.seq };
      return true;
    }
    if (r.seq < expected) {
      return this.fail("seq_order", expected, `expected record ${expected} but found ${r.seq} again or out of order`);
    }
    if (r.prevHash !== this.head.hash) {
      // Both records hash correctly, so either the earlier one was altered and re-hashed or this
      // one's link was; a checkpoint covering the earlier one settles it.
      const firstBad = r.seq - 1 > this.anchoredSeq ? r.seq - 1 : r.seq;
      return this.fail(
        "prev_hash_mismatch",
        firstBad,
        r.seq === 1
          ? "record 1 does not start from the genesis hash"
          : `record ${r.seq}'s prevHash does not match record ${r.seq - 1}'s hash: one of them was altered and re-hashed`,
      );
    }
    this.accept(r);
    while (this.pendingAt < this.pending.length && this.pending[this.pendingAt]!.seq <= r.seq) {
      const cp = this.pending[this.pendingAt++]!;
      if (cp.seq === r.seq && !this.checkAgainstHead(cp)) return false;
    }
    if (this.maxGap !== undefined && r.seq - this.anchoredSeq > this.maxGap) {
      return this.fail(
        "checkpoint_missing",
        this.anchoredSeq + 1,
        `records ${this.anchoredSeq + 1}..${r.seq} have no checkpoint though one is made every ${this.maxGap} records`,
      );
    }
    return true;
  }

  checkpoint(raw: unknown): boolean {
    if (this.failure) return false;
    const parsed = SignedCheckpointSchema.safeParse(raw);
    if (!parsed.success) {
      return this.fail("malformed", this.nextSeq(), `checkpoint is malformed: ${issueText(parsed.error.issues)}`);
    }
    const cp = parsed.data;
    if (cp.seq > this.head.seq || this.gap) {
      this.addPending(cp);
      return true;
    }
    if (cp.seq === this.head.seq) return this.checkAgainstHead(cp);
    return this.fail(
      "malformed",
      this.nextSeq(),
      `checkpoint for record ${cp.seq} arrives after record ${this.head.seq}; it must follow the record it names`,
    );
  }

  finish(): VerifyResult {
    if (this.failure) return this.failure;
    if (this.gap) {
      const { expected, seen } = this.gap;
      this.fail("seq_gap", expected, `record ${expected} is missing: ${this.head.seq} is followed by ${seen}`);
      return this.failure!;
    }
    const beyond = this.pending[this.pendingAt];
    if (beyond) {
      if (this.signatureOk(beyond)) {
        this.fail(
          "truncated",
          this.head.seq + 1,
          `a checkpoint names record ${beyond.seq} but the chain ends at ${this.head.seq}: records were removed from the end`,
        );
      }
      return this.failure!;
    }
    return {
      ok: true,
      count: this.count,
      lastSeq: this.head.seq,
      lastHash: this.head.hash,
      checkpointsVerified: this.checkpointsVerified,
      anchoredSeq: this.anchoredSeq,
    };
  }

  private nextSeq(): number {
    return this.gap ? this.gap.expected : this.head.seq + 1;
  }

  /** Binary insertion keeps ascending order; checkpoints usually arrive in order and append. */
  private addPending(cp: SignedCheckpoint): void {
    let lo = this.pendingAt;
    let hi = this.pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.pending[mid]!.seq <= cp.seq) lo = mid + 1;
      else hi = mid;
    }
    this.pending.splice(lo, 0, cp);
  }

  private accept(r: AuditRecord): void {
    this.head = { seq: r.seq, hash: r.hash };
    this.count++;
  }

  /** Checks a checkpoint naming the current head; fails and returns false when it does not hold. */
  private checkAgainstHead(cp: SignedCheckpoint): boolean {
    if (!this.signatureOk(cp)) return false;
    if (cp.hash !== this.head.hash) {
      return this.fail(
        "checkpoint_mismatch",
        this.anchoredSeq + 1,
        `the signed checkpoint at record ${cp.seq} names a different hash: records ${this.anchoredSeq + 1}..${cp.seq} were rewritten`,
      );
    }
    this.anchoredSeq = Math.max(this.anchoredSeq, cp.seq);
    this.checkpointsVerified++;
    return true;
  }

  private signatureOk(cp: SignedCheckpoint): boolean {
    if (!this.keys) return true;
    const key = this.keys.get(cp.keyId);
    const problem = !key
      ? `is signed by unknown key ${cp.keyId}`
      : !verifyCheckpoint(key, cp)
        ? "has an invalid signature"
        : null;
    if (problem === null) return true;
    return this.fail(
      "checkpoint_signature",
      this.anchoredSeq + 1,
      `the checkpoint at record ${cp.seq} ${problem}: it was forged, so records after ${this.anchoredSeq} are unproven`,
    );
  }

  private fail(reason: VerifyFailureReason, firstBadSeq: number, message: string): false {
    this.failure ??= { ok: false, reason, firstBadSeq, message };
    return false;
  }
}

/**
 * Verifies a chain streamed in seq order from seq 1. Stops reading at the first failure, which
 * also closes the source iterator (ending a store iteration early).
 */
export async function verifyChain(
  records: Iterable<AuditRecord> | AsyncIterable<AuditRecord>,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const verifier = new ChainVerifier(options);
  for (const cp of options.checkpoints ?? []) {
    if (!verifier.checkpoint(cp)) return verifier.finish();
  }
  for await (const record of records) {
    if (!verifier.record(record)) break;
  }
  return verifier.finish();
}
