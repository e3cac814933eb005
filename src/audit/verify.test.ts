import { describe, expect, it } from "vitest";
import { hashRecord } from "./chain";
import type { AuditRecord, SignedCheckpoint, VerifyFailureReason } from "./schema";
import { signCheckpoint } from "./signing";
import { checkpointsFor, extendChain, makeChain, memorySigner, sampleInput } from "./testing";
import { verifyChain } from "./verify";

const signer = memorySigner();
const N = 10;
const EVERY = 5;
const chain = makeChain(N); // record 5 and 10 carry an error; checkpoints at 5 and 10
const checkpoints = checkpointsFor(chain, signer, EVERY);
const options = { publicKeyPem: signer.publicKeyPem, checkpoints };

const clone = (records: AuditRecord[]): AuditRecord[] => structuredClone(records);
const OTHER_HASH = "a".repeat(64);

/** Re-hashes records from index `from` on so the chain is internally consistent again. */
function rehashFrom(records: AuditRecord[], from: number): AuditRecord[] {
  for (let i = from; i < records.length; i++) {
    const r = records[i]!;
    if (i > 0) r.prevHash = records[i - 1]!.hash;
    r.hash = hashRecord(r);
  }
  return records;
}

/** Changes one record (seq k) in place, without fixing any hash. */
const edit =
  (k: number, change: (r: AuditRecord) => void) =>
  (records: AuditRecord[]): AuditRecord[] => {
    change(records[k - 1]!);
    return records;
  };

interface Case {
  name: string;
  tamper: (records: AuditRecord[]) => AuditRecord[];
  checkpoints?: (records: AuditRecord[]) => SignedCheckpoint[];
  maxCheckpointGap?: number;
  reason: VerifyFailureReason;
  firstBadSeq: number;
}

const fieldCases: Case[] = (
  [
    ["id", (r) => (r.id = "01jzzzzzzzzzzzzzzzzzzzzzzz")],
    ["time", (r) => (r.time = "2030-01-01T00:00:00.000Z")],
    ["actor.keyId", (r) => (r.actor.keyId = "key_evil")],
    ["actor.keyId to null", (r) => (r.actor.keyId = null)],
    ["actor.role", (r) => (r.actor.role = "viewer")],
    ["actor.tenant", (r) => (r.actor.tenant = "other")],
    ["actor.ip", (r) => (r.actor.ip = "10.0.0.1")],
    ["action", (r) => (r.action = "session.read")],
    ["target.id", (r) => (r.target = { type: "session", id: "ses_other" })],
    ["target.type", (r) => (r.target = { type: "approval", id: r.target!.id })],
    ["target to null", (r) => (r.target = null)],
    ["params value", (r) => (r.params.workDir = "/etc")],
    ["params new key", (r) => (r.params.extra = 1)],
    ["params nested", (r) => ((r.params.nested as { list: unknown[] }).list[0] = 2)],
    ["params __proto__ key added", (r) => (r.params = { ...JSON.parse('{"__proto__":{"x":1}}'), ...r.params })],
    ["outcome", (r) => (r.outcome = "denied")],
    ["error added", (r) => (r.error = "forged")],
    ["prevHash", (r) => (r.prevHash = OTHER_HASH)],
    ["hash", (r) => (r.hash = OTHER_HASH)],
  ] satisfies [string, (r: AuditRecord) => unknown][]
).map(([field, change]) => ({
  name: `record 4 ${field} changed`,
  tamper: edit(4, change),
  reason: "hash_mismatch",
  firstBadSeq: 4,
}));

const cases: Case[] = [
  ...fieldCases,
  { name: "error removed", tamper: edit(5, (r) => delete r.error), reason: "hash_mismatch", firstBadSeq: 5 },
  { name: "error emptied", tamper: edit(5, (r) => (r.error = "")), reason: "hash_mismatch", firstBadSeq: 5 },
  { name: "seq moved forward", tamper: edit(4, (r) => (r.seq = 5)), reason: "hash_mismatch", firstBadSeq: 4 },
  { name: "seq moved back", tamper: edit(4, (r) => (r.seq = 3)), reason: "hash_mismatch", firstBadSeq: 4 },
  { name: "seq renumbered", tamper: edit(4, (r) => (r.seq = 400)), reason: "hash_mismatch", firstBadSeq: 4 },
  {
    name: "outcome made invalid",
    tamper: edit(4, (r) => ((r as { outcome: string }).outcome = "maybe")),
    reason: "malformed",
    firstBadSeq: 4,
  },
  {
    name: "extra field added",
    tamper: edit(4, (r) => Object.assign(r, { note: "x" })),
    reason: "malformed",
    firstBadSeq: 4,
  },
  { name: "record 1 deleted", tamper: (rs) => rs.filter((r) => r.seq !== 1), reason: "seq_gap", firstBadSeq: 1 },
  { name: "record 4 deleted", tamper: (rs) => rs.filter((r) => r.seq !== 4), reason: "seq_gap", firstBadSeq: 4 },
  {
    name: "records 4-6 deleted",
    tamper: (rs) => rs.filter((r) => r.seq < 4 || r.seq > 6),
    reason: "seq_gap",
    firstBadSeq: 4,
  },
  { name: "records 4 and 5 swapped", tamper: (rs) => swap(rs, 4, 5), reason: "seq_order", firstBadSeq: 4 },
  { name: "records 4 and 7 swapped", tamper: (rs) => swap(rs, 4, 7), reason: "seq_order", firstBadSeq: 4 },
  { name: "records 9 and 10 swapped", tamper: (rs) => swap(rs, 9, 10), reason: "seq_order", firstBadSeq: 9 },
  {
    name: "record 4 duplicated",
    tamper: (rs) => [...rs.slice(0, 4), rs[3]!, ...rs.slice(4)],
    reason: "seq_order",
    firstBadSeq: 5,
  },
  {
    name: "contents of 4 and 5 swapped, seqs kept",
    tamper: (rs) => {
      const [a, b] = [rs[3]!, rs[4]!];
      [rs[3], rs[4]] = [
        { ...b, seq: 4 },
        { ...a, seq: 5 },
      ];
      return rs;
    },
    reason: "hash_mismatch",
    firstBadSeq: 4,
  },
  { name: "last record truncated", tamper: (rs) => rs.slice(0, 9), reason: "truncated", firstBadSeq: 10 },
  { name: "tail 8-10 truncated", tamper: (rs) => rs.slice(0, 7), reason: "truncated", firstBadSeq: 8 },
  { name: "everything truncated", tamper: () => [], reason: "truncated", firstBadSeq: 1 },
  {
    name: "record 4 altered and re-hashed alone",
    tamper: (rs) => {
      rs[3]!.params.workDir = "/etc";
      rs[3]!.hash = hashRecord(rs[3]!);
      return rs;
    },
    reason: "prev_hash_mismatch",
    firstBadSeq: 4,
  },
  {
    name: "record 6's link altered and re-hashed (5 is checkpointed)",
    tamper: (rs) => {
      rs[5]!.prevHash = OTHER_HASH;
      rs[5]!.hash = hashRecord(rs[5]!);
      return rs;
    },
    reason: "prev_hash_mismatch",
    firstBadSeq: 6,
  },
  {
    name: "record 1 not starting at genesis, re-hashed",
    tamper: (rs) => rehashFrom(edit(1, (r) => (r.prevHash = OTHER_HASH))(rs), 0),
    reason: "prev_hash_mismatch",
    firstBadSeq: 1,
  },
  // A consistent rewrite without the signing key: only the checkpoints can tell.
  {
    name: "whole chain rewritten, original checkpoints",
    tamper: (rs) => rehashFrom(edit(2, (r) => (r.action = "nothing.happened"))(rs), 1),
    reason: "checkpoint_mismatch",
    firstBadSeq: 1,
  },
  {
    name: "chain rewritten from 7, original checkpoints",
    tamper: (rs) => rehashFrom(edit(7, (r) => (r.action = "nothing.happened"))(rs), 6),
    reason: "checkpoint_mismatch",
    firstBadSeq: 6,
  },
  {
    name: "whole chain rewritten, checkpoints re-signed with another key",
    tamper: (rs) => rehashFrom(edit(2, (r) => (r.action = "nothing.happened"))(rs), 1),
    checkpoints: (rs) => checkpointsFor(rs, memorySigner(), EVERY),
    reason: "checkpoint_signature",
    firstBadSeq: 1,
  },
  {
    name: "whole chain rewritten, checkpoints re-signed claiming the real key id",
    tamper: (rs) => rehashFrom(edit(2, (r) => (r.action = "nothing.happened"))(rs), 1),
    checkpoints: (rs) => checkpointsFor(rs, { ...memorySigner(), keyId: signer.keyId }, EVERY),
    reason: "checkpoint_signature",
    firstBadSeq: 1,
  },
  {
    name: "whole chain rewritten, checkpoints deleted, gap enforced",
    tamper: (rs) => rehashFrom(edit(2, (r) => (r.action = "nothing.happened"))(rs), 1),
    checkpoints: () => [],
    maxCheckpointGap: EVERY,
    reason: "checkpoint_missing",
    firstBadSeq: 1,
  },
  {
    name: "checkpoint 10 deleted, gap enforced",
    tamper: (rs) => rs,
    checkpoints: () => checkpoints.slice(0, 1),
    maxCheckpointGap: 4,
    reason: "checkpoint_missing",
    firstBadSeq: 6,
  },
  {
    name: "checkpoint time altered",
    tamper: (rs) => rs,
    checkpoints: () => [checkpoints[0]!, { ...checkpoints[1]!, time: "2030-01-01T00:00:00.000Z" }],
    reason: "checkpoint_signature",
    firstBadSeq: 6,
  },
  {
    name: "checkpoint hash and signature swapped in from another checkpoint",
    tamper: (rs) => rs,
    checkpoints: () => [{ ...checkpoints[1]!, seq: 5 }],
    reason: "checkpoint_signature",
    firstBadSeq: 1,
  },
  {
    name: "forged checkpoint beyond the end",
    tamper: (rs) => rs,
    checkpoints: (rs) => [
      ...checkpoints,
      { ...signCheckpoint(memorySigner(), { seq: 12, hash: OTHER_HASH, time: rs[0]!.time }), keyId: signer.keyId },
    ],
    reason: "checkpoint_signature",
    firstBadSeq: 11,
  },
];

function swap(records: AuditRecord[], a: number, b: number): AuditRecord[] {
  [records[a - 1], records[b - 1]] = [records[b - 1]!, records[a - 1]!];
  return records;
}

describe("verifyChain", () => {
  it("accepts an intact chain and reports what the checkpoints anchor", async () => {
    expect(await verifyChain(chain, options)).toEqual({
      ok: true,
      count: N,
      lastSeq: N,
      lastHash: chain[N - 1]!.hash,
      checkpointsVerified: 2,
      anchoredSeq: 10,
    });
  });

  it("accepts an empty chain", async () => {
    expect(await verifyChain([])).toMatchObject({ ok: true, count: 0, lastSeq: 0, lastHash: "0".repeat(64) });
  });

  it("reads async iterables and stops at the first failure", async () => {
    let pulled = 0;
    async function* source() {
      for (const r of chain) {
        pulled++;
        yield r.seq === 3 ? { ...r, action: "x.y" } : r;
      }
    }
    expect(await verifyChain(source(), options)).toMatchObject({ ok: false, reason: "hash_mismatch", firstBadSeq: 3 });
    expect(pulled).toBe(3);
  });

  it("accepts checkpoints from rotated keys when both public keys are given", async () => {
    const next = memorySigner();
    const cps = [checkpointsFor(chain, signer, EVERY)[0]!, checkpointsFor(chain, next, EVERY)[1]!];
    const result = await verifyChain(chain, {
      publicKeyPem: [signer.publicKeyPem, next.publicKeyPem],
      checkpoints: cps,
    });
    expect(result).toMatchObject({ ok: true, checkpointsVerified: 2, anchoredSeq: 10 });
  });

  it("verifies records whose params hold a __proto__ key", async () => {
    const input = { ...sampleInput(1), params: JSON.parse('{"__proto__":{"x":1},"a":1}') };
    const records = JSON.parse(JSON.stringify(extendChain(makeChain(2), [input])));
    expect(await verifyChain(records)).toMatchObject({ ok: true, count: 3 });
  });

  it("without checkpoints, cannot see a truncated tail (why checkpoints matter)", async () => {
    expect(await verifyChain(chain.slice(0, 7))).toMatchObject({ ok: true, lastSeq: 7 });
  });

  it.each(cases)("detects: $name → $reason at $firstBadSeq", async (c) => {
    const tampered = c.tamper(clone(chain));
    const result = await verifyChain(tampered, {
      publicKeyPem: signer.publicKeyPem,
      checkpoints: c.checkpoints ? c.checkpoints(tampered) : checkpoints,
      maxCheckpointGap: c.maxCheckpointGap,
    });
    expect(result).toMatchObject({ ok: false, reason: c.reason, firstBadSeq: c.firstBadSeq });
    if (!result.ok) expect(result.message).toMatch(/\S/);
  });
});
