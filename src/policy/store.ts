// Policy persistence (SQLite): append-only versions per scope; the latest version is the one in force.
import type { ExpressionBuilder } from "kysely";
import type { Db } from "../store/db";
import type { Policy, PolicyLayer, PolicyScope, StoredPolicy } from "./schema";

interface PoliciesTable {
  scope_type: string;
  scope_id: string;
  version: number;
  document: string;
  created_at: string;
  created_by: string | null;
}
type Tables = { policies: PoliciesTable };

const t = (db: Db) => db.withTables<Tables>();

const toStored = (r: PoliciesTable): StoredPolicy => ({
  scope: { type: r.scope_type as PolicyLayer, id: r.scope_id },
  version: r.version,
  policy: JSON.parse(r.document) as Policy | null,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

export interface NewPolicyVersion {
  scope: PolicyScope;
  /** A validated policy, or null to remove the scope's policy (history is kept). */
  policy: Policy | null;
  createdAt: string;
  createdBy: string | null;
}

/** Keeps only the newest version of each scope (rows aliased `p`). */
const isLatest = (eb: ExpressionBuilder<{ policies: PoliciesTable; p: PoliciesTable }, "p">) =>
  eb(
    "p.version",
    "=",
    eb
      .selectFrom("policies as q")
      .select((e) => e.fn.max("q.version").as("v"))
      .whereRef("q.scope_type", "=", "p.scope_type")
      .whereRef("q.scope_id", "=", "p.scope_id"),
  );

export const policyStore = {
  /** Appends the next version for the scope; call it inside a unit of work. */
  async insert(db: Db, v: NewPolicyVersion): Promise<StoredPolicy> {
    const last = await t(db)
      .selectFrom("policies")
      .select((eb) => eb.fn.max("version").as("v"))
      .where("scope_type", "=", v.scope.type)
      .where("scope_id", "=", v.scope.id)
      .executeTakeFirst();
    const row: PoliciesTable = {
      scope_type: v.scope.type,
      scope_id: v.scope.id,
      version: Number(last?.v ?? 0) + 1,
      document: JSON.stringify(v.policy),
      created_at: v.createdAt,
      created_by: v.createdBy,
    };
    await t(db).insertInto("policies").values(row).execute();
    return toStored(row);
  },

  /** The version in force for a scope (its `policy` is null when the latest version removed it). */
  async latest(db: Db, scope: PolicyScope): Promise<StoredPolicy | undefined> {
    const r = await t(db)
      .selectFrom("policies")
      .selectAll()
      .where("scope_type", "=", scope.type)
      .where("scope_id", "=", scope.id)
      .orderBy("version", "desc")
      .limit(1)
      .executeTakeFirst();
    return r ? toStored(r) : undefined;
  },

  async version(db: Db, scope: PolicyScope, version: number): Promise<StoredPolicy | undefined> {
    const r = await t(db)
      .selectFrom("policies")
      .selectAll()
      .where("scope_type", "=", scope.type)
      .where("scope_id", "=", scope.id)
      .where("version", "=", version)
      .executeTakeFirst();
    return r ? toStored(r) : undefined;
  },

  /** A scope's versions, newest first; `before` pages back from a version. */
  async history(db: Db, scope: PolicyScope, opts: { limit: number; before?: number }): Promise<StoredPolicy[]> {
    let q = t(db)
      .selectFrom("policies")
      .selectAll()
      .where("scope_type", "=", scope.type)
      .where("scope_id", "=", scope.id);
    if (opts.before !== undefined) q = q.where("version", "<", opts.before);
    return (await q.orderBy("version", "desc").limit(opts.limit).execute()).map(toStored);
  },

  /** The latest version of each given scope that has one, in one query (the layers of one call). */
  async latestFor(db: Db, scopes: readonly PolicyScope[]): Promise<StoredPolicy[]> {
    if (scopes.length === 0) return [];
    const rows = await t(db)
      .selectFrom("policies as p")
      .selectAll("p")
      .where((eb) => eb.or(scopes.map((s) => eb.and([eb("p.scope_type", "=", s.type), eb("p.scope_id", "=", s.id)]))))
      .where(isLatest)
      .execute();
    return rows.map(toStored);
  },

  /** The latest version of every scope (optionally of one type) whose policy is in force. */
  async listLatest(db: Db, type?: PolicyLayer): Promise<StoredPolicy[]> {
    let q = t(db).selectFrom("policies as p").selectAll("p").where(isLatest).where("p.document", "!=", "null");
    if (type) q = q.where("p.scope_type", "=", type);
    return (await q.orderBy("p.scope_type").orderBy("p.scope_id").execute()).map(toStored);
  },
};
