// Schema history. Append new migrations; never edit one that has shipped.
import { type Kysely, sql } from "kysely";
import { type Migration, Migrator } from "kysely/migration";
import { auditMigration } from "../audit/migration";
import { modelRequestsMigration } from "../gateway/migration";
import { policyMigration } from "../policy/migration";
import type { Db } from "./db";

const migrations: Record<string, Migration> = {
  "0001_sessions_events": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("sessions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("work_dir", "text", (c) => c.notNull())
        .addColumn("parent_id", "text")
        .addColumn("claude_session_id", "text", (c) => c.notNull())
        .addColumn("conversation_started", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("model", "text")
        .addColumn("permission_mode", "text", (c) => c.notNull())
        .addColumn("options", "text", (c) => c.notNull())
        .addColumn("input_tokens", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("output_tokens", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("cache_read_tokens", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("cache_write_tokens", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("cost_usd", "real", (c) => c.notNull().defaultTo(0))
        .addColumn("error_code", "text")
        .addColumn("error_message", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("last_activity_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("sessions_status").on("sessions").column("status").execute();
      await db.schema.createIndex("sessions_work_dir").on("sessions").column("work_dir").execute();
      await sql`CREATE UNIQUE INDEX sessions_live_name ON sessions(name)
        WHERE name IS NOT NULL AND status NOT IN ('stopped','failed')`.execute(db);

      await db.schema
        .createTable("events")
        .addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("id", "text", (c) => c.notNull().unique())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("session_id", "text")
        .addColumn("time", "text", (c) => c.notNull())
        .addColumn("data", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("events_session").on("events").columns(["session_id", "seq"]).execute();

      await db.schema
        .createTable("transcript_items")
        .addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("id", "text", (c) => c.notNull().unique())
        .addColumn("session_id", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("ref", "text")
        .addColumn("data", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("transcript_session").on("transcript_items").columns(["session_id", "seq"]).execute();
      await db.schema.createIndex("transcript_ref").on("transcript_items").columns(["session_id", "ref"]).execute();

      await db.schema
        .createTable("turns")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("session_id", "text", (c) => c.notNull())
        .addColumn("prompt_item_id", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("started_at", "text", (c) => c.notNull())
        .addColumn("ttft_ms", "real")
        .addColumn("duration_ms", "real")
        .addColumn("api_duration_ms", "real")
        .addColumn("input_tokens", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("output_tokens", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("cache_read_tokens", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("cache_write_tokens", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("cost_usd", "real", (c) => c.notNull().defaultTo(0))
        .addColumn("model_usage", "text")
        .addColumn("error_code", "text")
        .addColumn("error_message", "text")
        .addColumn("ended_at", "text")
        .execute();
      await db.schema.createIndex("turns_session").on("turns").columns(["session_id", "started_at"]).execute();

      await db.schema
        .createTable("approvals")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("session_id", "text", (c) => c.notNull())
        .addColumn("tool_use_id", "text", (c) => c.notNull())
        .addColumn("tool_name", "text", (c) => c.notNull())
        .addColumn("input", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("message", "text")
        .addColumn("decided_by", "text")
        .addColumn("requested_at", "text", (c) => c.notNull())
        .addColumn("resolved_at", "text")
        .addColumn("wait_ms", "real")
        .execute();
      await db.schema.createIndex("approvals_session").on("approvals").columns(["session_id", "status"]).execute();
    },
  },
  "0002_auth": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("api_keys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("scopes", "text")
        .addColumn("rate_limit_per_minute", "integer")
        .addColumn("secret_hash", "text", (c) => c.notNull())
        .addColumn("previous_hash", "text")
        .addColumn("previous_valid_until", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("created_by", "text")
        .addColumn("expires_at", "text")
        .addColumn("revoked_at", "text")
        .addColumn("last_used_at", "text")
        .addColumn("rotated_to", "text")
        .execute();
      await db.schema
        .alterTable("sessions")
        .addColumn("tenant", "text", (c) => c.notNull().defaultTo("default"))
        .execute();
      await db.schema.alterTable("sessions").addColumn("owner_key_id", "text").execute();
      await db.schema.createIndex("sessions_tenant_owner").on("sessions").columns(["tenant", "owner_key_id"]).execute();
      // Names are unique among a tenant's live sessions.
      await sql`DROP INDEX sessions_live_name`.execute(db);
      await sql`CREATE UNIQUE INDEX sessions_live_name ON sessions(tenant, name)
        WHERE name IS NOT NULL AND status NOT IN ('stopped','failed')`.execute(db);
    },
  },
  "0003_audit": auditMigration,
  "0004_policies": policyMigration,
  "0005_model_requests": modelRequestsMigration,
  "0007_hooks": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("sessions")
        .addColumn("kind", "text", (c) => c.notNull().defaultTo("managed"))
        .execute();
      await db.schema.alterTable("sessions").addColumn("attention", "text").execute();
      await db.schema
        .createTable("hook_installations")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("secret_hash", "text", (c) => c.notNull())
        .addColumn("owner_key_id", "text", (c) => c.notNull())
        .addColumn("tenant", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("revoked_at", "text")
        .execute();
    },
  },
  "0006_approval_decisions": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("approvals")
        .addColumn("kind", "text", (c) => c.notNull().defaultTo("tool"))
        .execute();
      await db.schema.alterTable("approvals").addColumn("decision", "text").execute();
      await db.schema.alterTable("approvals").addColumn("timeout_at", "text").execute();
    },
  },
  // Lookups that scanned or sorted whole tables once histories grew (measured with 300k sessions).
  "0008_lookup_indexes": {
    async up(db: Kysely<unknown>) {
      // A hook names its session by Claude Code's session id.
      await db.schema
        .createIndex("sessions_claude_session")
        .on("sessions")
        .columns(["claude_session_id", "kind"])
        .execute();
      // A tenant's (or an owner's) sessions, newest first, paged by id without sorting the scope.
      await db.schema.createIndex("sessions_tenant_id").on("sessions").columns(["tenant", "id"]).execute();
      await db.schema.dropIndex("sessions_tenant_owner").execute();
      await db.schema
        .createIndex("sessions_tenant_owner")
        .on("sessions")
        .columns(["tenant", "owner_key_id", "id"])
        .execute();
      // Whether a prompt has started a turn (the stored queue: kill, escape, restart).
      await db.schema.createIndex("turns_prompt_item").on("turns").columns(["prompt_item_id"]).execute();
    },
  },
  // Approvals listed by status or tool across sessions, newest first, and the pending count /metrics reads.
  "0010_approval_indexes": {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex("approvals_status").on("approvals").columns(["status", "id"]).execute();
      await db.schema.createIndex("approvals_tool").on("approvals").columns(["tool_name", "id"]).execute();
    },
  },
  // Reports over a time range: turns and sessions by when they started.
  "0011_range_indexes": {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex("turns_started").on("turns").columns(["started_at"]).execute();
      await db.schema.createIndex("sessions_created").on("sessions").columns(["created_at"]).execute();
    },
  },
  // Budget checks sum a key's, tenant's or session's spend before every gateway request: indexes
  // that hold what is summed answer from the index alone (600k requests in a month: ~200 ms a check).
  "0009_spend_indexes": {
    async up(db: Kysely<unknown>) {
      const spent = ["cost_usd", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"];
      for (const [name, lead] of [
        ["model_requests_tenant", ["tenant", "started_at"]],
        ["model_requests_owner", ["owner_key_id", "started_at"]],
      ] as const) {
        await db.schema.dropIndex(name).execute();
        await db.schema
          .createIndex(name)
          .on("model_requests")
          .columns([...lead, ...spent])
          .execute();
      }
      await db.schema
        .createIndex("model_requests_session_spend")
        .on("model_requests")
        .columns(["session_id", ...spent])
        .execute();
    },
  },
  // Only tool items have a ref (the tool_use id they are found by); prompts and replies, two a turn,
  // no longer write an index entry nobody reads.
  "0012_partial_ref_index": {
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex("transcript_ref").execute();
      await db.schema
        .createIndex("transcript_ref")
        .on("transcript_items")
        .columns(["session_id", "ref"])
        .where(sql.ref("ref"), "is not", null)
        .execute();
    },
  },
  // Seven event inserts a turn kept two B-trees nobody reads: AUTOINCREMENT's sqlite_sequence row
  // and a unique index on the id (events are found by seq). Without AUTOINCREMENT the next seq is
  // the largest plus one, so it still never goes back while the newest event stays: nothing deletes
  // events, and anything that ever prunes them must keep the newest.
  "0013_lean_events": {
    async up(db: Kysely<unknown>) {
      // One transaction (kysely runs SQLite migrations without one): a crash part-way leaves the
      // old table as it was, and the next start runs this again.
      await sql`begin immediate`.execute(db);
      try {
        await rebuildEvents(db);
        await sql`commit`.execute(db);
      } catch (err) {
        await sql`rollback`.execute(db);
        throw err;
      }
    },
  },
};

async function rebuildEvents(db: Kysely<unknown>) {
  await sql`drop table if exists events_next`.execute(db);
  await sql`create table events_next (
        seq integer primary key, id text not null, type text not null,
        session_id text, time text not null, data text not null)`.execute(db);
  await sql`insert into events_next (seq, id, type, session_id, time, data)
        select seq, id, type, session_id, time, data from events order by seq`.execute(db);
  await sql`drop table events`.execute(db);
  await sql`alter table events_next rename to events`.execute(db);
  await sql`delete from sqlite_sequence where name = 'events'`.execute(db);
  await db.schema.createIndex("events_session").on("events").columns(["session_id", "seq"]).execute();
}

/** `upTo` stops after that migration: a database as an older release left it (for upgrade tests). */
export async function migrate(db: Db, upTo?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Parallel branches add numbered migrations; run each once, whatever order they landed in.
    allowUnorderedMigrations: true,
  });
  const { error, results } = upTo ? await migrator.migrateTo(upTo) : await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ""} failed: ${String(error)}`);
  }
}
