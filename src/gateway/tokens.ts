// Per-session gateway tokens: what a Claude Code process presents instead of the real API key.
// Kept in memory only (a restarted server issues new ones when it resumes a session), as hashes.
import { hash as digestOf, randomBytes, timingSafeEqual } from "node:crypto";

export interface SessionGrant {
  sessionId: string;
  tenant: string;
  ownerKeyId: string | null;
}

// One-shot: every model request verifies its token, and a Hash object costs more than the digest.
const hash = (token: string) => digestOf("sha256", token, "buffer");

export class GatewayTokens {
  private readonly byHash = new Map<string, { digest: Buffer; grant: SessionGrant }>();
  private readonly bySession = new Map<string, string>();

  /** A fresh token for the session; any earlier token of the session stops working. */
  issue(grant: SessionGrant): string {
    this.revoke(grant.sessionId);
    const token = `aegis-gw-${randomBytes(32).toString("base64url")}`;
    const digest = hash(token);
    const key = digest.toString("hex");
    this.byHash.set(key, { digest, grant });
    this.bySession.set(grant.sessionId, key);
    return token;
  }

  verify(token: string | undefined): SessionGrant | undefined {
    if (!token?.startsWith("aegis-gw-")) return undefined;
    const digest = hash(token);
    const entry = this.byHash.get(digest.toString("hex"));
    // The lookup is by hash; the compare guards against any future change of the key.
    return entry && timingSafeEqual(entry.digest, digest) ? entry.grant : undefined;
  }

  revoke(sessionId: string): void {
    const key = this.bySession.get(sessionId);
    if (key === undefined) return;
    this.byHash.delete(key);
    this.bySession.delete(sessionId);
  }

  get size(): number {
    return this.byHash.size;
  }
}
