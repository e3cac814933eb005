// Ed25519 checkpoint signing: the key files, key ids, and signing and verifying checkpoints.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { canonicalJson } from "./canonical-json";
import { AuditErrors } from "./errors";
import type { Checkpoint, SignedCheckpoint } from "./schema";

/**
 * Prepended to the JCS form of `{ seq, hash, time }` before signing, so a checkpoint signature
 * can never be mistaken for a signature over anything else made with the same key.
 */
export const CHECKPOINT_SIGNING_CONTEXT = "aegis.audit.checkpoint.v1\n";

export interface AuditSigner {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

export interface LoadedSigningKey extends AuditSigner {
  /** True when group or others may read the private key file; the caller should warn. */
  permissionsTooOpen: boolean;
}

export interface GeneratedSigningKey {
  keyId: string;
  privateKeyPath: string;
  publicKeyPath: string;
  publicKeyPem: string;
}

/** Where the public key PEM is written beside a private key file. */
export const publicKeyPathFor = (privateKeyPath: string) => `${privateKeyPath}.pub`;

/** The key id: the first 32 hex digits of SHA-256 over the public key's SPKI DER encoding. */
export function publicKeyId(publicKey: string | KeyObject): string {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex").slice(0, 32);
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointPayload(cp: Checkpoint): Buffer {
  return Buffer.from(CHECKPOINT_SIGNING_CONTEXT + canonicalJson({ seq: cp.seq, hash: cp.hash, time: cp.time }), "utf8");
}

const isErrno = (err: unknown, code: string) =>
  err instanceof Error && "code" in err && (err as NodeJS.ErrnoException).code === code;

/**
 * Creates an Ed25519 key pair: the private key as PKCS#8 PEM (mode 0600) at `path`, the public
 * key as SPKI PEM at `path.pub`. Refuses to overwrite an existing private key.
 */
export async function generateSigningKey(path: string): Promise<GeneratedSigningKey> {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }) as string;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, privatePem, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if (isErrno(err, "EEXIST")) throw AuditErrors.signingKeyExists({ details: { path } });
    throw err;
  }
  const publicKeyPath = publicKeyPathFor(path);
  await writeFile(publicKeyPath, publicKeyPem, { mode: 0o644 });
  return { keyId: publicKeyId(publicKey), privateKeyPath: path, publicKeyPath, publicKeyPem };
}

/** Reads an Ed25519 PKCS#8 PEM private key written by generateSigningKey (or openssl genpkey). */
export async function loadSigningKey(path: string): Promise<LoadedSigningKey> {
  let pem: string;
  let mode: number;
  try {
    [pem, { mode }] = await Promise.all([readFile(path, "utf8"), stat(path)]);
  } catch (err) {
    if (isErrno(err, "ENOENT")) throw AuditErrors.signingKeyMissing({ details: { path } });
    throw err;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw AuditErrors.signingKeyInvalid({ details: { path } });
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw AuditErrors.signingKeyInvalid({ details: { path, keyType: privateKey.asymmetricKeyType } });
  }
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: publicKeyId(publicKey),
    privateKey,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
    permissionsTooOpen: process.platform !== "win32" && (mode & 0o077) !== 0,
  };
}

export function signCheckpoint(signer: Pick<AuditSigner, "keyId" | "privateKey">, cp: Checkpoint): SignedCheckpoint {
  const signature = sign(null, checkpointPayload(cp), signer.privateKey).toString("base64");
  return { seq: cp.seq, hash: cp.hash, time: cp.time, keyId: signer.keyId, signature };
}

/** Parses a public key PEM and checks it is Ed25519; throws otherwise (a configuration error). */
export function parsePublicKey(publicKey: string | KeyObject): KeyObject {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  if (key.asymmetricKeyType !== "ed25519") {
    throw new TypeError(`audit public key must be Ed25519, not ${key.asymmetricKeyType}`);
  }
  return key;
}

/**
 * True when `cp.signature` is a valid Ed25519 signature by `publicKey` over the checkpoint.
 * Throws only when the public key itself is unusable.
 */
export function verifyCheckpoint(publicKey: string | KeyObject, cp: SignedCheckpoint): boolean {
  const key = parsePublicKey(publicKey);
  try {
    return verify(null, checkpointPayload(cp), key, Buffer.from(cp.signature, "base64"));
  } catch {
    // A checkpoint whose fields cannot be serialised or whose signature is garbage is simply not valid.
    return false;
  }
}
