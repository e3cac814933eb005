// API key secrets: random tokens, stored only as an HMAC keyed with the server's secret.
import { createHmac, hash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** `aegis_<key id>_<secret>`: the id lets the server find the key without scanning. */
export function newToken(keyId: string): string {
  return `aegis_${keyId}_${randomBytes(32).toString("base64url")}`;
}

export function keyIdOf(token: string): string | undefined {
  const m = /^aegis_(key_[0-9a-z]{26})_[A-Za-z0-9_-]{43}$/.exec(token);
  return m?.[1];
}

export function hashToken(serverSecret: Buffer, token: string): string {
  return createHmac("sha256", serverSecret).update(token).digest("hex");
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A constant-time check against one configured secret. Both sides are compared as SHA-256
 * digests (equal lengths, whatever the input); the secret's is computed once.
 */
export function secretMatcher(secret: string): (candidate: string) => boolean {
  const want = hash("sha256", secret, "buffer");
  return (candidate) => timingSafeEqual(hash("sha256", candidate, "buffer"), want);
}

/** The server's HMAC key, created once (mode 0600) beside the database. */
export function loadServerSecret(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
  }
  chmodSync(file, 0o600);
  return Buffer.from(readFileSync(file, "utf8").trim(), "hex");
}
