// The audit tables: an append-only record chain and its signed checkpoints.
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

export const auditMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("audit_records")
      // Assigned by the writer (last + 1), not AUTOINCREMENT: the primary key makes two writers
      // racing for the same seq fail instead of forking the chain.
      .addColumn("seq", "integer", (c) => c.primaryKey())
      .addColumn("id", "text", (c) => c.notNull().unique())
      .addColumn("time", "text", (c) => c.notNull())
      .addColumn("actor_key_id", "text")
      .addColumn("actor_role", "text")
      .addColumn("actor_tenant", "text")
      .addColumn("actor_ip", "text")
      .addColumn("action", "text", (c) => c.notNull())
      .addColumn("target_type", "text")
      .addColumn("target_id", "text")
      .addColumn("params", "text", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("error", "text")
      .addColumn("prev_hash", "text", (c) => c.notNull())
      .addColumn("hash", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("audit_records_actor").on("audit_records").columns(["actor_key_id", "seq"]).execute();
    await db.schema.createIndex("audit_records_tenant").on("audit_records").columns(["actor_tenant", "seq"]).execute();
    await db.schema.createIndex("audit_records_action").on("audit_records").columns(["action", "seq"]).execute();
    await db.schema.createIndex("audit_records_target").on("audit_records").columns(["target_id", "seq"]).execute();
    await db.schema.createIndex("audit_records_time").on("audit_records").column("time").execute();

    await db.schema
      .createTable("audit_checkpoints")
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("key_id", "text", (c) => c.notNull())
      .addColumn("hash", "text", (c) => c.notNull())
      .addColumn("time", "text", (c) => c.notNull())
      .addColumn("signature", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("audit_checkpoints_pk", ["seq", "key_id"])
      .execute();

    // Append-only inside the application: the chain and signatures detect tampering by anyone
    // with the file, these stop the app itself from rewriting history by mistake. Retention
    // (pruning old records) would need a migration that replaces them.
    for (const table of ["audit_records", "audit_checkpoints"]) {
      for (const op of ["UPDATE", "DELETE"]) {
        const name = `${table}_no_${op.toLowerCase()}`;
        await sql
          .raw(
            `CREATE TRIGGER ${name} BEFORE ${op} ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`,
          )
          .execute(db);
      }
    }
  },
};
