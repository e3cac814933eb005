// Short-lived, single-use tokens that let a browser open an SSE stream (EventSource cannot send
// headers). Each is bound to the principal that minted it and carries exactly its rights, and only
// while that principal's key still works.
import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock";
import type { Principal } from "./schema";

interface Entry {
  principal: Principal;
  expiresAt: number;
}

export class SseTokens {
  private readonly tokens = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
    /** Whether the minting key still works (not revoked or expired since); see AuthService.isActive. */
    private readonly isActive: (p: Principal) => Promise<boolean>,
  ) {}

  mint(principal: Principal): { token: string; expiresAt: string; expiresInSeconds: number } {
    this.sweep();
    const token = `sse_${randomBytes(24).toString("base64url")}`;
    const expiresAt = this.clock.now().getTime() + this.ttlSeconds * 1000;
    this.tokens.set(token, { principal: { ...principal, via: "sse_token" }, expiresAt });
    return { token, expiresAt: new Date(expiresAt).toISOString(), expiresInSeconds: this.ttlSeconds };
  }

  /** The principal bound to the token, once and only if its key still works; afterwards the token is gone. */
  async consume(token: string): Promise<Principal | undefined> {
    const entry = this.tokens.get(token);
    this.tokens.delete(token);
    if (!entry || entry.expiresAt <= this.clock.now().getTime()) return undefined;
    return (await this.isActive(entry.principal)) ? entry.principal : undefined;
  }

  private sweep() {
    const now = this.clock.now().getTime();
    for (const [t, e] of this.tokens) if (e.expiresAt <= now) this.tokens.delete(t);
  }
}
