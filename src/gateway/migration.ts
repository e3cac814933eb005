// The model_requests table: one row per request the model gateway handled, metered exactly.
import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";

export const modelRequestsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("model_requests")
      .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
      .addColumn("session_id", "text", (c) => c.notNull())
      .addColumn("tenant", "text", (c) => c.notNull())
      .addColumn("owner_key_id", "text")
      .addColumn("model", "text")
      .addColumn("path", "text", (c) => c.notNull())
      // ok | error (the model API answered an error or the stream broke) | refused (budget) | aborted (client left)
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("status", "integer", (c) => c.notNull())
      .addColumn("error_type", "text")
      .addColumn("input_tokens", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("output_tokens", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("cache_read_tokens", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("cache_write_tokens", "integer", (c) => c.notNull().defaultTo(0))
      // null when the model is missing from the price table
      .addColumn("cost_usd", "real")
      .addColumn("latency_ms", "real", (c) => c.notNull())
      .addColumn("ttft_ms", "real")
      .addColumn("started_at", "text", (c) => c.notNull())
      .addColumn("upstream_request_id", "text")
      .addColumn("rate_limits", "text")
      .execute();
    await db.schema.createIndex("model_requests_started").on("model_requests").column("started_at").execute();
    await db.schema.createIndex("model_requests_session").on("model_requests").columns(["session_id", "id"]).execute();
    await db.schema
      .createIndex("model_requests_tenant")
      .on("model_requests")
      .columns(["tenant", "started_at"])
      .execute();
    await db.schema
      .createIndex("model_requests_owner")
      .on("model_requests")
      .columns(["owner_key_id", "started_at"])
      .execute();
  },
};
