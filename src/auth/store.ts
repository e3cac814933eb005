// API key persistence (SQLite): metadata and the keyed hash of each secret, never the secret.
import type { Db } from "../store/db";
import type { ApiKey, Role } from "./schema";

interface ApiKeysTable {
  id: string;
  name: string;
  role: string;
  tenant: string;
  scopes: string | null;
  rate_limit_per_minute: number | null;
  secret_hash: string;
  previous_hash: string | null;
  previous_valid_until: string | null;
  created_at: string;
  created_by: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  rotated_to: string | null;
}
type Tables = { api_keys: ApiKeysTable };

export interface KeyRecord extends ApiKey {
  secretHash: string;
  previousHash: string | null;
  previousValidUntil: string | null;
}

const toRecord = (r: ApiKeysTable): KeyRecord => ({
  id: r.id as ApiKey["id"],
  name: r.name,
  role: r.role as Role,
  tenant: r.tenant,
  scopes: r.scopes ? JSON.parse(r.scopes) : null,
  rateLimitPerMinute: r.rate_limit_per_minute,
  createdAt: r.created_at,
  createdBy: r.created_by,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  rotatedTo: r.rotated_to,
  secretHash: r.secret_hash,
  previousHash: r.previous_hash,
  previousValidUntil: r.previous_valid_until,
});

export function publicKey(k: KeyRecord): ApiKey {
  const { secretHash: _s, previousHash: _p, previousValidUntil: _v, ...rest } = k;
  return rest;
}

const t = (db: Db) => db.withTables<Tables>();

export const keyStore = {
  async insert(db: Db, k: KeyRecord): Promise<void> {
    await t(db)
      .insertInto("api_keys")
      .values({
        id: k.id,
        name: k.name,
        role: k.role,
        tenant: k.tenant,
        scopes: k.scopes ? JSON.stringify(k.scopes) : null,
        rate_limit_per_minute: k.rateLimitPerMinute,
        secret_hash: k.secretHash,
        previous_hash: null,
        previous_valid_until: null,
        created_at: k.createdAt,
        created_by: k.createdBy,
        expires_at: k.expiresAt,
        revoked_at: null,
        last_used_at: null,
        rotated_to: null,
      })
      .execute();
  },

  async get(db: Db, id: string): Promise<KeyRecord | undefined> {
    const r = await t(db).selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  },

  async list(db: Db, tenant?: string): Promise<KeyRecord[]> {
    let q = t(db).selectFrom("api_keys").selectAll().orderBy("id");
    if (tenant) q = q.where("tenant", "=", tenant);
    return (await q.execute()).map(toRecord);
  },

  async count(db: Db): Promise<number> {
    const r = await t(db)
      .selectFrom("api_keys")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },

  async revoke(db: Db, id: string, at: string): Promise<void> {
    await t(db)
      .updateTable("api_keys")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .execute();
  },

  /** Rotates only if the secret is still `expectedHash`; false when another rotation came first. */
  async rotate(db: Db, id: string, expectedHash: string, newHash: string, oldValidUntil: string): Promise<boolean> {
    const r = await t(db)
      .updateTable("api_keys")
      .set((eb) => ({
        previous_hash: eb.ref("secret_hash"),
        previous_valid_until: oldValidUntil,
        secret_hash: newHash,
      }))
      .where("id", "=", id)
      .where("secret_hash", "=", expectedHash)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async touch(db: Db, id: string, at: string): Promise<void> {
    await t(db).updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
  },
};
