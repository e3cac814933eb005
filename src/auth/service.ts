// API key lifecycle and authentication.

import type { AuditEntry } from "../core/audit";
import type { Clock } from "../core/clock";
import { event } from "../core/events";
import { idSchema, newId } from "../core/ids";
import type { Logger } from "../core/log";
import type { Db } from "../store/db";
import type { Transact } from "../store/tx";
import { AuthErrors } from "./errors";
import { KeyRevoked } from "./events";
import { permissionsOf, ROLE_PERMISSIONS } from "./permissions";
import { type ApiKey, actorOf, type Caller, type CreateKeyInput, type Principal, type Role } from "./schema";
import { type KeyRecord, keyStore, publicKey } from "./store";
import { hashToken, keyIdOf, newToken, sameHash, secretMatcher } from "./tokens";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const isStoredKey = (keyId: string) => idSchema("key").safeParse(keyId).success;
/** Names a secret by its keyed hash without carrying the whole hash around. */
const fingerprint = (hash: string) => hash.slice(0, 16);
const TOUCH_EVERY_MS = 60_000;

export interface AuthDeps {
  db: Db;
  transact: Transact;
  clock: Clock;
  log: Logger;
  serverSecret: Buffer;
  /** AEGIS_AUTH_TOKEN: an admin token for automation, never stored. */
  bootstrapToken?: string | undefined;
  /** metrics.token: lets a Prometheus scraper read /metrics and /v1/ready, nothing else; never stored. */
  metricsToken?: string | undefined;
}

export const BOOTSTRAP_PRINCIPAL: Principal = {
  keyId: "bootstrap",
  name: "bootstrap token",
  role: "admin",
  tenant: "default",
  scopes: null,
  rateLimitPerMinute: null,
  via: "bootstrap_token",
};

/** The metrics token's caller: scoped to metrics.read (/metrics, /v1/ready), so every other route answers 403. */
export const METRICS_PRINCIPAL: Principal = {
  keyId: "metrics",
  name: "metrics token",
  role: "viewer",
  tenant: "default",
  scopes: ["metrics.read"],
  rateLimitPerMinute: null,
  via: "metrics_token",
};

export class AuthService {
  private readonly touched = new Map<string, number>();
  private readonly isBootstrap: ((token: string) => boolean) | null;
  private readonly isMetrics: ((token: string) => boolean) | null;

  constructor(private readonly deps: AuthDeps) {
    this.isBootstrap = deps.bootstrapToken ? secretMatcher(deps.bootstrapToken) : null;
    this.isMetrics = deps.metricsToken ? secretMatcher(deps.metricsToken) : null;
  }

  /** On first start, creates an admin key and returns its token (to print once). */
  async bootstrap(): Promise<{ key: ApiKey; token: string } | undefined> {
    if (this.deps.bootstrapToken) return undefined;
    if ((await keyStore.count(this.deps.db)) > 0) return undefined;
    return this.insertKey({ name: "initial admin", role: "admin", tenant: "default" }, null);
  }

  private audit(caller: Caller | null, action: string, keyId: string, params: Record<string, unknown>): AuditEntry {
    return {
      actor: caller ? actorOf(caller) : { keyId: "system", role: null, tenant: null, ip: null },
      action,
      target: { type: "api_key", id: keyId },
      params,
      outcome: "ok",
    };
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    if (this.isBootstrap?.(token)) return BOOTSTRAP_PRINCIPAL;
    if (this.isMetrics?.(token)) return METRICS_PRINCIPAL;
    const id = keyIdOf(token);
    if (!id) return undefined;
    const key = await keyStore.get(this.deps.db, id);
    if (!key || key.revokedAt) return undefined;
    const now = this.deps.clock.now();
    if (key.expiresAt && Date.parse(key.expiresAt) <= now.getTime()) return undefined;
    const hash = hashToken(this.deps.serverSecret, token);
    const current = sameHash(hash, key.secretHash);
    const previous =
      !current &&
      key.previousHash !== null &&
      key.previousValidUntil !== null &&
      Date.parse(key.previousValidUntil) > now.getTime() &&
      sameHash(hash, key.previousHash);
    if (!current && !previous) return undefined;
    await this.touch(key.id, now);
    return {
      keyId: key.id,
      name: key.name,
      role: key.role,
      tenant: key.tenant,
      scopes: key.scopes,
      rateLimitPerMinute: key.rateLimitPerMinute,
      via: "api_key",
      secretFingerprint: fingerprint(hash),
    };
  }

  /**
   * Whether the credential behind an authenticated principal still works: its key is neither
   * revoked nor expired, nor (for a rotated key's old secret) past its grace period. Long-lived
   * uses of a principal (SSE tokens, open streams) ask again here. The bootstrap and metrics tokens
   * are not stored keys and work as long as the process runs.
   */
  async isActive(p: Principal): Promise<boolean> {
    if (!isStoredKey(p.keyId)) return true;
    const key = await keyStore.get(this.deps.db, p.keyId);
    const now = this.deps.clock.now().getTime();
    if (!key || key.revokedAt) return false;
    if (key.expiresAt && Date.parse(key.expiresAt) <= now) return false;
    const fp = p.secretFingerprint;
    if (fp === undefined || fingerprint(key.secretHash) === fp) return true;
    return (
      key.previousHash !== null &&
      fingerprint(key.previousHash) === fp &&
      key.previousValidUntil !== null &&
      Date.parse(key.previousValidUntil) > now
    );
  }

  /**
   * Whether a key still works (neither revoked nor expired): what a credential it handed out, such
   * as a hook installation's secret, lives by. The bootstrap token and auth-off callers always do.
   */
  async keyWorks(keyId: string | null): Promise<boolean> {
    if (keyId === null || !isStoredKey(keyId)) return true;
    const key = await keyStore.get(this.deps.db, keyId);
    if (!key || key.revokedAt) return false;
    return !key.expiresAt || Date.parse(key.expiresAt) > this.deps.clock.now().getTime();
  }

  async createKey(input: CreateKeyInput, by: Caller): Promise<ApiKey & { token: string }> {
    const caller = by.principal;
    if (RANK[input.role] > RANK[caller.role]) throw AuthErrors.roleAboveCaller();
    if (input.scopes?.some((s) => !ROLE_PERMISSIONS[input.role].includes(s))) {
      throw AuthErrors.scopeBeyondRole({ details: { allowed: ROLE_PERMISSIONS[input.role] } });
    }
    mayManage(caller, input.role, input.scopes ?? null);
    const tenant = caller.role === "admin" ? (input.tenant ?? caller.tenant) : caller.tenant;
    const { key, token } = await this.insertKey({ ...input, tenant }, by);
    return { ...key, token };
  }

  async listKeys(caller: Principal): Promise<ApiKey[]> {
    const rows = await keyStore.list(this.deps.db, caller.role === "admin" ? undefined : caller.tenant);
    return rows.map(publicKey);
  }

  async revokeKey(id: string, by: Caller): Promise<ApiKey> {
    const key = await this.mustGet(id);
    mayManage(by.principal, key.role, key.scopes);
    await this.deps.transact(async (tx) => {
      await keyStore.revoke(tx.db, id, this.deps.clock.now().toISOString());
      tx.audit(this.audit(by, "key.revoke", id, { name: key.name, role: key.role, tenant: key.tenant }));
      // Open event streams of the key listen for this and close.
      if (!key.revokedAt) tx.emit(event(KeyRevoked, null, { keyId: id, name: key.name, tenant: key.tenant }));
    });
    return publicKey((await keyStore.get(this.deps.db, id)) ?? key);
  }

  /** New secret for the same key; the old secret keeps working for the grace period. */
  async rotateKey(id: string, gracePeriodSeconds: number, by: Caller): Promise<ApiKey & { token: string }> {
    const key = await this.mustGet(id);
    mayManage(by.principal, key.role, key.scopes);
    if (key.revokedAt) throw AuthErrors.keyNotFound({ message: "The key is revoked; create a new one." });
    const token = newToken(key.id);
    const until = new Date(this.deps.clock.now().getTime() + gracePeriodSeconds * 1000).toISOString();
    await this.deps.transact(async (tx) => {
      // Against the secret read above: of two rotations at once, one wins and the other is told.
      const rotated = await keyStore.rotate(tx.db, id, key.secretHash, hashToken(this.deps.serverSecret, token), until);
      if (!rotated) throw AuthErrors.rotationConflict({ details: { id } });
      tx.audit(this.audit(by, "key.rotate", id, { gracePeriodSeconds, previousValidUntil: until }));
    });
    return { ...publicKey(await this.mustGet(id)), token };
  }

  principalPermissions(p: Principal) {
    return permissionsOf(p.role, p.scopes);
  }

  private async mustGet(id: string): Promise<KeyRecord> {
    const key = await keyStore.get(this.deps.db, id);
    if (!key) throw AuthErrors.keyNotFound({ details: { id } });
    return key;
  }

  private async insertKey(
    input: Omit<CreateKeyInput, "tenant"> & { tenant: string },
    by: Caller | null,
  ): Promise<{ key: ApiKey; token: string }> {
    const createdBy = by?.principal.keyId ?? null;
    const id = newId("key");
    const token = newToken(id);
    const now = this.deps.clock.now();
    const record: KeyRecord = {
      id,
      name: input.name,
      role: input.role,
      tenant: input.tenant,
      scopes: input.scopes ?? null,
      rateLimitPerMinute: input.rateLimitPerMinute ?? null,
      createdAt: now.toISOString(),
      createdBy,
      expiresAt: input.expiresInSeconds ? new Date(now.getTime() + input.expiresInSeconds * 1000).toISOString() : null,
      revokedAt: null,
      lastUsedAt: null,
      rotatedTo: null,
      secretHash: hashToken(this.deps.serverSecret, token),
      previousHash: null,
      previousValidUntil: null,
    };
    await this.deps.transact(async (tx) => {
      await keyStore.insert(tx.db, record);
      tx.audit(
        this.audit(by, by ? "key.create" : "key.bootstrap", id, {
          name: record.name,
          role: record.role,
          tenant: record.tenant,
          scopes: record.scopes,
          expiresAt: record.expiresAt,
          rateLimitPerMinute: record.rateLimitPerMinute,
        }),
      );
    });
    return { key: publicKey(record), token };
  }

  private async touch(id: string, now: Date) {
    const last = this.touched.get(id) ?? 0;
    if (now.getTime() - last < TOUCH_EVERY_MS) return;
    this.touched.set(id, now.getTime());
    await keyStore.touch(this.deps.db, id, now.toISOString());
  }
}

/**
 * A key manages (creates, rotates, revokes) only keys whose every permission it holds itself: a
 * key scoped to key management must not mint, or take over by rotation, a key wider than itself.
 */
function mayManage(caller: Principal, role: Role, scopes: readonly string[] | null): void {
  const mine = new Set(permissionsOf(caller.role, caller.scopes));
  if (RANK[role] > RANK[caller.role] || permissionsOf(role, scopes).some((p) => !mine.has(p)))
    throw AuthErrors.keyBeyondCaller({ details: { role, scopes } });
}
