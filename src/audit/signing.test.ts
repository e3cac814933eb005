import { generateKeyPairSync } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppError } from "../core/errors";
import type { SignedCheckpoint } from "./schema";
import {
  checkpointPayload,
  generateSigningKey,
  loadSigningKey,
  publicKeyId,
  publicKeyPathFor,
  signCheckpoint,
  verifyCheckpoint,
} from "./signing";
import { memorySigner } from "./testing";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aegis-audit-key-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const errorCode = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return isAppError(err) ? err.code : String(err);
  }
  return "resolved";
};

describe("key files", () => {
  it("generates a 0600 PKCS#8 private key and a public key beside it, then loads it", async () => {
    const path = join(dir, "keys", "audit.pem");
    const generated = await generateSigningKey(path);
    expect(generated.publicKeyPath).toBe(publicKeyPathFor(path));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(await readFile(generated.publicKeyPath, "utf8")).toBe(generated.publicKeyPem);

    const loaded = await loadSigningKey(path);
    expect(loaded.keyId).toBe(generated.keyId);
    expect(loaded.publicKeyPem).toBe(generated.publicKeyPem);
    expect(loaded.permissionsTooOpen).toBe(false);
    expect(publicKeyId(generated.publicKeyPem)).toMatch(/^[0-9a-f]{32}$/);
  });

  it("never overwrites an existing key", async () => {
    const path = join(dir, "once.pem");
    const first = await generateSigningKey(path);
    expect(await errorCode(generateSigningKey(path))).toBe("AUDIT_SIGNING_KEY_EXISTS");
    expect((await loadSigningKey(path)).keyId).toBe(first.keyId);
  });

  it("flags a key file others can read", async () => {
    const path = join(dir, "open.pem");
    await generateSigningKey(path);
    await chmod(path, 0o644);
    expect((await loadSigningKey(path)).permissionsTooOpen).toBe(true);
  });

  it.each([
    ["a missing file", null, "AUDIT_SIGNING_KEY_MISSING"],
    ["not a key", "hello", "AUDIT_SIGNING_KEY_INVALID"],
    [
      "an RSA key",
      generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }),
      "AUDIT_SIGNING_KEY_INVALID",
    ],
  ])("refuses %s", async (name, content, code) => {
    const path = join(dir, `bad-${name.replaceAll(" ", "-")}.pem`);
    if (content !== null) await writeFile(path, content, { mode: 0o600 });
    expect(await errorCode(loadSigningKey(path))).toBe(code);
  });
});

describe("checkpoint signatures", () => {
  const signer = memorySigner();
  const cp = signCheckpoint(signer, { seq: 42, hash: "b".repeat(64), time: "2026-01-01T00:00:00.000Z" });

  it("signs the context-prefixed JCS of seq, hash and time", () => {
    expect(checkpointPayload(cp).toString("utf8")).toBe(
      `aegis.audit.checkpoint.v1\n{"hash":"${"b".repeat(64)}","seq":42,"time":"2026-01-01T00:00:00.000Z"}`,
    );
    expect(cp.keyId).toBe(signer.keyId);
    expect(verifyCheckpoint(signer.publicKeyPem, cp)).toBe(true);
  });

  it.each<[string, Partial<SignedCheckpoint>]>([
    ["seq", { seq: 43 }],
    ["hash", { hash: "c".repeat(64) }],
    ["time", { time: "2026-01-01T00:00:00.001Z" }],
    ["signature", { signature: Buffer.alloc(64).toString("base64") }],
    ["truncated signature", { signature: cp.signature.slice(0, 20) }],
  ])("rejects a changed %s", (_field, change) => {
    expect(verifyCheckpoint(signer.publicKeyPem, { ...cp, ...change })).toBe(false);
  });

  it("rejects another key's signature", () => {
    expect(verifyCheckpoint(memorySigner().publicKeyPem, cp)).toBe(false);
  });

  it("throws on a public key that is not Ed25519", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" });
    expect(() => verifyCheckpoint(rsa as string, cp)).toThrow(/Ed25519/);
  });
});
