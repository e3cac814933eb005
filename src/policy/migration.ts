// The policies table: every change inserts a new version of a scope's document; reads take the latest.
import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

export const policyMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("policies")
      .addColumn("scope_type", "text", (c) => c.notNull())
      .addColumn("scope_id", "text", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      // The policy as JSON, or `null` for a version that removes the scope's policy.
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("created_by", "text")
      // Two writers racing for the same version fail instead of both winning.
      .addPrimaryKeyConstraint("policies_pk", ["scope_type", "scope_id", "version"])
      .execute();
  },
};
