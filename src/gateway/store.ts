// Persistence of metered model requests (SQLite), and the sums budgets and analytics read.
import { sql } from "kysely";
import type { Db } from "../store/db";
import { statement } from "../store/statement";

export interface ModelRequestsTable {
  id: number | undefined;
  session_id: string;
  tenant: string;
  owner_key_id: string | null;
  model: string | null;
  path: string;
  outcome: string;
  status: number;
  error_type: string | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number | null;
  latency_ms: number;
  ttft_ms: number | null;
  started_at: string;
  upstream_request_id: string | null;
  rate_limits: string | null;
}

/** The table as other domains (analytics) query it. */
export type ModelRequestsTables = { model_requests: ModelRequestsTable };

export type Outcome = "ok" | "error" | "refused" | "aborted";

export interface ModelRequestRecord {
  sessionId: string;
  tenant: string;
  ownerKeyId: string | null;
  model: string | null;
  path: string;
  outcome: Outcome;
  status: number;
  errorType: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number | null;
  latencyMs: number;
  ttftMs: number | null;
  startedAt: string;
  upstreamRequestId: string | null;
  rateLimits: Record<string, string> | null;
}

export interface Spend {
  usd: number;
  tokens: number;
}

const t = (db: Db) => db.withTables<ModelRequestsTables>();

// One per model request: fixed SQL, no query building.
const insertRequest = statement(
  `insert into model_requests (session_id, tenant, owner_key_id, model, path, outcome, status, error_type,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, ttft_ms, started_at,
    upstream_request_id, rate_limits) values (${Array(18).fill("?").join(", ")})`,
);

export const modelRequestStore = {
  async insert(db: Db, r: ModelRequestRecord): Promise<void> {
    await insertRequest.run(db, [
      r.sessionId,
      r.tenant,
      r.ownerKeyId,
      r.model,
      r.path,
      r.outcome,
      r.status,
      r.errorType,
      r.inputTokens,
      r.outputTokens,
      r.cacheReadTokens,
      r.cacheWriteTokens,
      r.costUsd,
      r.latencyMs,
      r.ttftMs,
      r.startedAt,
      r.upstreamRequestId,
      r.rateLimits ? JSON.stringify(r.rateLimits) : null,
    ]);
  },

  /** USD (priced requests only) and tokens of every kind spent by one session, key or tenant since `since`. */
  async spend(
    db: Db,
    by: { sessionId?: string; ownerKeyId?: string; tenant?: string },
    since: string | null,
    afterId?: number,
  ): Promise<Spend & { lastId: number }> {
    let q = t(db)
      .selectFrom("model_requests")
      .select((eb) => [
        eb.fn.coalesce(eb.fn.max<number>("id"), eb.lit(0)).as("lastId"),
        eb.fn.coalesce(eb.fn.sum<number>("cost_usd"), eb.lit(0)).as("usd"),
        eb.fn
          .coalesce(
            eb.fn.sum<number>(
              eb(
                eb(eb("input_tokens", "+", eb.ref("output_tokens")), "+", eb.ref("cache_read_tokens")),
                "+",
                eb.ref("cache_write_tokens"),
              ),
            ),
            eb.lit(0),
          )
          .as("tokens"),
      ]);
    // Only the requests stored after `afterId`: then SQLite must read them by rowid range (a unary +
    // keeps it off the column indexes, which would walk the whole window).
    const col = (c: "session_id" | "owner_key_id" | "tenant" | "started_at") =>
      afterId === undefined ? sql.ref(c) : sql`+${sql.ref(c)}`;
    if (by.sessionId !== undefined) q = q.where(col("session_id"), "=", by.sessionId);
    if (by.ownerKeyId !== undefined) q = q.where(col("owner_key_id"), "=", by.ownerKeyId);
    if (by.tenant !== undefined) q = q.where(col("tenant"), "=", by.tenant);
    if (since !== null) q = q.where(col("started_at"), ">=", since);
    if (afterId !== undefined) q = q.where("id", ">", afterId);
    const row = await q.executeTakeFirstOrThrow();
    return { usd: Number(row.usd), tokens: Number(row.tokens), lastId: Number(row.lastId) };
  },
};
