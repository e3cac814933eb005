// Test fixtures for the audit domain: in-memory signers and ready-made signed chains.
import { generateKeyPairSync } from "node:crypto";
import { buildRecord, newAuditId } from "./chain";
import { type AuditInput, type AuditRecord, GENESIS_HEAD, type SignedCheckpoint } from "./schema";
import { type AuditSigner, publicKeyId, signCheckpoint } from "./signing";

export function memorySigner(): AuditSigner {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    keyId: publicKeyId(publicKey),
    privateKey,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
  };
}

export function sampleInput(i: number): AuditInput {
  return {
    actor: { keyId: `key_${i % 3}`, role: i % 2 ? "admin" : "operator", tenant: "acme", ip: "127.0.0.1" },
    action: i % 4 === 0 ? "session.kill" : "session.create",
    target: { type: "session", id: `ses_${i}` },
    params: { workDir: "/tmp/x", n: i, nested: { list: [1, "two", null, true] } },
    outcome: i % 5 === 0 ? "error" : "ok",
    ...(i % 5 === 0 ? { error: `boom ${i}` } : {}),
  };
}

/** Appends one record per input after `from` (default: an empty chain), one second apart. */
export function extendChain(from: AuditRecord[], inputs: AuditInput[], start = Date.UTC(2026, 0, 1)): AuditRecord[] {
  const out = [...from];
  for (const input of inputs) {
    const head = out.at(-1) ?? GENESIS_HEAD;
    out.push(buildRecord(head, input, { id: newAuditId(), time: new Date(start + out.length * 1000).toISOString() }));
  }
  return out;
}

export function makeChain(n: number): AuditRecord[] {
  return extendChain(
    [],
    Array.from({ length: n }, (_, i) => sampleInput(i + 1)),
  );
}

/** A signed checkpoint at every `every`-th record. */
export function checkpointsFor(records: AuditRecord[], signer: AuditSigner, every: number): SignedCheckpoint[] {
  return records
    .filter((r) => r.seq % every === 0)
    .map((r) => signCheckpoint(signer, { seq: r.seq, hash: r.hash, time: r.time }));
}
