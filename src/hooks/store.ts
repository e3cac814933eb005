// Hook installations (SQLite): who installed them and the keyed hash of their secret.
import type { Db } from "../store/db";
import type { Installation } from "./schema";

interface InstallationsTable {
  id: string;
  name: string;
  secret_hash: string;
  owner_key_id: string;
  tenant: string;
  created_at: string;
  revoked_at: string | null;
}
type Tables = { hook_installations: InstallationsTable };

export interface InstallationRecord extends Installation {
  secretHash: string;
}

const toRecord = (r: InstallationsTable): InstallationRecord => ({
  id: r.id as Installation["id"],
  name: r.name,
  ownerKeyId: r.owner_key_id,
  tenant: r.tenant,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  secretHash: r.secret_hash,
});

const t = (db: Db) => db.withTables<Tables>();

export const installationStore = {
  async insert(db: Db, r: InstallationRecord): Promise<void> {
    await t(db)
      .insertInto("hook_installations")
      .values({
        id: r.id,
        name: r.name,
        secret_hash: r.secretHash,
        owner_key_id: r.ownerKeyId,
        tenant: r.tenant,
        created_at: r.createdAt,
        revoked_at: null,
      })
      .execute();
  },
  async get(db: Db, id: string): Promise<InstallationRecord | undefined> {
    const r = await t(db).selectFrom("hook_installations").selectAll().where("id", "=", id).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  },
  async list(db: Db, tenant: string | undefined): Promise<InstallationRecord[]> {
    let q = t(db).selectFrom("hook_installations").selectAll().orderBy("id");
    if (tenant) q = q.where("tenant", "=", tenant);
    return (await q.execute()).map(toRecord);
  },
  async revoke(db: Db, id: string, at: string): Promise<void> {
    await t(db).updateTable("hook_installations").set({ revoked_at: at }).where("id", "=", id).execute();
  },
};
