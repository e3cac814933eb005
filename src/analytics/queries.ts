// Aggregates over metered model requests (model_requests), Claude Code's turns and sessions, always
// inside the caller's scope (the ownership rule of src/auth/access.ts).
import { sql } from "kysely";
import type { Db } from "../store/db";
import type { Tokens } from "./schema";
import { type Range, type Scope, scopedSql } from "./scope";

export interface GatewayGroup {
  key: string | null;
  requests: number;
  errors: number;
  refused: number;
  tokens: Tokens;
  costUsd: number;
  unpricedRequests: number;
}

interface GroupRow {
  requests: number;
  errors: number;
  refused: number;
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  cost: number;
  unpriced: number;
}

/** The groupings reports show: all requests, or by model, UTC day, API key or tenant. */
type Grouping = "none" | "model" | "day" | "key" | "tenant";

/** One fine group of the range's requests: every coarser grouping is a sum of these. */
export interface GatewayCell extends Omit<GatewayGroup, "key"> {
  day: string;
  model: string | null;
  keyId: string | null;
  tenant: string;
}

/**
 * The range's metered requests read once, grouped by day, model, key and tenant together, so a
 * report that shows several groupings scans model_requests one time (rollUp derives each).
 */
export async function gatewayCube(db: Db, scope: Scope, range: Range): Promise<GatewayCell[]> {
  const { rows } = await sql<GroupRow & { day: string; model: string | null; key_id: string | null; tenant: string }>`
    SELECT substr(started_at, 1, 10) AS day, model, owner_key_id AS key_id, tenant,
      count(*) AS requests,
      sum(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END) AS errors,
      sum(CASE WHEN outcome = 'refused' THEN 1 ELSE 0 END) AS refused,
      coalesce(sum(input_tokens), 0) AS input,
      coalesce(sum(output_tokens), 0) AS output,
      coalesce(sum(cache_read_tokens), 0) AS cache_read,
      coalesce(sum(cache_write_tokens), 0) AS cache_write,
      coalesce(sum(cost_usd), 0) AS cost,
      sum(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END) AS unpriced
    FROM model_requests AS r
    WHERE r.started_at >= ${range.from} AND r.started_at < ${range.to} AND ${scopedSql("r", scope)}
    GROUP BY day, model, owner_key_id, tenant`.execute(db);
  return rows.map((r) => ({
    day: r.day,
    model: r.model,
    keyId: r.key_id,
    tenant: r.tenant,
    requests: Number(r.requests),
    errors: Number(r.errors ?? 0),
    refused: Number(r.refused ?? 0),
    tokens: tokensOf(r),
    costUsd: Number(r.cost),
    unpricedRequests: Number(r.unpriced ?? 0),
  }));
}

const keyOf: Record<Grouping, (c: GatewayCell) => string | null> = {
  none: () => null,
  model: (c) => c.model,
  day: (c) => c.day,
  key: (c) => c.keyId,
  tenant: (c) => c.tenant,
};

/** A grouping of the cube, ordered as SQL orders it (NULL first); "none" is one group, or none at all. */
export function rollUp(cells: readonly GatewayCell[], by: Grouping): GatewayGroup[] {
  const groups = new Map<string | null, GatewayGroup>();
  for (const c of cells) {
    const key = keyOf[by](c);
    const g = groups.get(key) ?? {
      key,
      requests: 0,
      errors: 0,
      refused: 0,
      tokens: zeroTokens(),
      costUsd: 0,
      unpricedRequests: 0,
    };
    g.requests += c.requests;
    g.errors += c.errors;
    g.refused += c.refused;
    g.tokens = {
      input: g.tokens.input + c.tokens.input,
      output: g.tokens.output + c.tokens.output,
      cacheRead: g.tokens.cacheRead + c.tokens.cacheRead,
      cacheWrite: g.tokens.cacheWrite + c.tokens.cacheWrite,
    };
    g.costUsd += c.costUsd;
    g.unpricedRequests += c.unpricedRequests;
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) =>
    a.key === b.key ? 0 : a.key === null ? -1 : b.key === null ? 1 : a.key < b.key ? -1 : 1,
  );
}

/** The four token sums every grouped query selects. */
function tokensOf(r: { input: unknown; output: unknown; cache_read: unknown; cache_write: unknown }): Tokens {
  return {
    input: Number(r.input),
    output: Number(r.output),
    cacheRead: Number(r.cache_read),
    cacheWrite: Number(r.cache_write),
  };
}

export interface TurnGroup {
  key: string | null;
  total: number;
  completed: number;
  failed: number;
  interrupted: number;
  tokens: Tokens;
  costUsd: number;
}

/** Claude Code's per-turn figures for turns started in the range, whole or by UTC day. */
export async function turnGroups(db: Db, scope: Scope, range: Range, byDay: boolean): Promise<TurnGroup[]> {
  const key = byDay ? sql`substr(t.started_at, 1, 10)` : sql`NULL`;
  const { rows } = await sql<
    GroupRow & { k: string | null; total: number; completed: number; failed: number; interrupted: number }
  >`
    SELECT ${key} AS k,
      count(*) AS total,
      sum(CASE WHEN t.status = 'completed' THEN 1 ELSE 0 END) AS completed,
      sum(CASE WHEN t.status = 'failed' THEN 1 ELSE 0 END) AS failed,
      sum(CASE WHEN t.status = 'interrupted' THEN 1 ELSE 0 END) AS interrupted,
      coalesce(sum(t.input_tokens), 0) AS input,
      coalesce(sum(t.output_tokens), 0) AS output,
      coalesce(sum(t.cache_read_tokens), 0) AS cache_read,
      coalesce(sum(t.cache_write_tokens), 0) AS cache_write,
      coalesce(sum(t.cost_usd), 0) AS cost
    FROM turns AS t
    WHERE t.started_at >= ${range.from} AND t.started_at < ${range.to}${inScope(scope)}
    GROUP BY ${key}
    ORDER BY ${key}`.execute(db);
  return rows.map((r) => ({
    key: r.k,
    total: Number(r.total),
    completed: Number(r.completed ?? 0),
    failed: Number(r.failed ?? 0),
    interrupted: Number(r.interrupted ?? 0),
    tokens: tokensOf(r),
    costUsd: Number(r.cost),
  }));
}

/** A turn's session within the caller's scope; nothing to check (no join) for an admin. */
function inScope(scope: Scope) {
  if (scope.tenant === undefined && scope.ownerKeyId === undefined) return sql``;
  return sql` AND t.session_id IN (SELECT s.id FROM sessions AS s WHERE ${scopedSql("s", scope)})`;
}

/** Sessions created in the range, by current status and by UTC day. */
export async function sessionCounts(
  db: Db,
  scope: Scope,
  range: Range,
): Promise<{ byStatus: Map<string, number>; byDay: Map<string, number> }> {
  const { rows } = await sql<{ status: string; day: string; n: number }>`
    SELECT s.status AS status, substr(s.created_at, 1, 10) AS day, count(*) AS n
    FROM sessions AS s
    WHERE s.created_at >= ${range.from} AND s.created_at < ${range.to} AND ${scopedSql("s", scope)}
    GROUP BY s.status, day`.execute(db);
  const byStatus = new Map<string, number>();
  const byDay = new Map<string, number>();
  for (const r of rows) {
    byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + Number(r.n));
    byDay.set(r.day, (byDay.get(r.day) ?? 0) + Number(r.n));
  }
  return { byStatus, byDay };
}

export const zeroTokens = (): Tokens => ({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });
