// The model API's rate-limit budget as its headers last reported it, the current pace per turn, and
// how many more turns fit: remaining ÷ per-turn use, for the tightest of the reported limits.
import { sql } from "kysely";
import type { Db } from "../store/db";
import type { AnalyticsRateLimits } from "./schema";
import { type Scope, scopedSql } from "./scope";

type Budget = NonNullable<AnalyticsRateLimits["requests"]>;
type Pace = AnalyticsRateLimits["pace"];

/** Turns the pace is measured over. */
export const PACE_TURNS = 20;

const num = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/** One limit's headers (`anthropic-ratelimit-<name>-limit|remaining|reset`), or null when absent. */
export function budgetOf(headers: Record<string, string>, name: string): Budget | null {
  const limit = num(headers[`anthropic-ratelimit-${name}-limit`]);
  const remaining = num(headers[`anthropic-ratelimit-${name}-remaining`]);
  const reset = headers[`anthropic-ratelimit-${name}-reset`] ?? null;
  if (limit === null && remaining === null && reset === null) return null;
  return { limit, remaining, reset };
}

/** What is left now: the observed remainder, or the full limit once the reported reset has passed. */
function left(b: Budget | null, now: Date): number | null {
  if (!b) return null;
  if (b.reset !== null && b.limit !== null && Date.parse(b.reset) <= now.getTime()) return b.limit;
  return b.remaining;
}

export function forecast(
  budgets: Pick<AnalyticsRateLimits, "requests" | "tokens" | "inputTokens" | "outputTokens">,
  pace: Pace,
  now: Date,
): AnalyticsRateLimits["forecast"] {
  const dims = [
    ["requests", budgets.requests, pace.requestsPerTurn],
    ["tokens", budgets.tokens, pace.tokensPerTurn],
    ["input_tokens", budgets.inputTokens, pace.inputTokensPerTurn],
    ["output_tokens", budgets.outputTokens, pace.outputTokensPerTurn],
  ] as const;
  let best: AnalyticsRateLimits["forecast"] = { turnsLeft: null, limitedBy: null, resetsAt: null };
  for (const [name, budget, perTurn] of dims) {
    const remaining = left(budget, now);
    if (remaining === null || perTurn === null || perTurn <= 0) continue;
    const turns = Math.max(0, Math.floor(remaining / perTurn));
    if (best.turnsLeft === null || turns < best.turnsLeft) {
      best = { turnsLeft: turns, limitedBy: name, resetsAt: budget?.reset ?? null };
    }
  }
  return best;
}

/** Average use per turn over the scope's latest turns and the gateway requests made since the first of them. */
export async function paceOf(db: Db, scope: Scope): Promise<Pace> {
  const { rows: turns } = await sql<{ started_at: string }>`
    SELECT t.started_at AS started_at FROM turns AS t JOIN sessions AS s ON s.id = t.session_id
    WHERE t.status != 'running' AND ${scopedSql("s", scope)}
    ORDER BY t.started_at DESC LIMIT ${PACE_TURNS}`.execute(db);
  const none: Pace = {
    turnsSampled: 0,
    requestsPerTurn: null,
    tokensPerTurn: null,
    inputTokensPerTurn: null,
    outputTokensPerTurn: null,
  };
  const oldest = turns[turns.length - 1]?.started_at;
  if (oldest === undefined) return none;
  const { rows } = await sql<{ requests: number; input: number; output: number }>`
    SELECT count(*) AS requests,
      coalesce(sum(input_tokens + cache_write_tokens), 0) AS input,
      coalesce(sum(output_tokens), 0) AS output
    FROM model_requests AS r
    WHERE r.started_at >= ${oldest} AND r.outcome != 'refused' AND ${scopedSql("r", scope)}`.execute(db);
  const row = rows[0];
  if (!row || Number(row.requests) === 0) return { ...none, turnsSampled: turns.length };
  const n = turns.length;
  const per = (v: number) => Math.round((v / n) * 100) / 100;
  return {
    turnsSampled: n,
    requestsPerTurn: per(Number(row.requests)),
    tokensPerTurn: per(Number(row.input) + Number(row.output)),
    inputTokensPerTurn: per(Number(row.input)),
    outputTokensPerTurn: per(Number(row.output)),
  };
}

/** The latest rate-limit headers seen on a request in scope. */
export async function latestHeaders(
  db: Db,
  scope: Scope,
): Promise<{ at: string; model: string | null; headers: Record<string, string> } | undefined> {
  const { rows } = await sql<{ started_at: string; model: string | null; rate_limits: string }>`
    SELECT started_at, model, rate_limits FROM model_requests AS r
    WHERE r.rate_limits IS NOT NULL AND ${scopedSql("r", scope)}
    ORDER BY r.id DESC LIMIT 1`.execute(db);
  const r = rows[0];
  return r ? { at: r.started_at, model: r.model, headers: JSON.parse(r.rate_limits) } : undefined;
}

export async function rateLimits(db: Db, scope: Scope, now: Date): Promise<AnalyticsRateLimits> {
  const latest = await latestHeaders(db, scope);
  const h = latest?.headers ?? {};
  const budgets = {
    requests: budgetOf(h, "requests"),
    tokens: budgetOf(h, "tokens"),
    inputTokens: budgetOf(h, "input-tokens"),
    outputTokens: budgetOf(h, "output-tokens"),
  };
  const pace = await paceOf(db, scope);
  return {
    observedAt: latest?.at ?? null,
    model: latest?.model ?? null,
    ...budgets,
    retryAfterSeconds: num(h["retry-after"]),
    pace,
    forecast: forecast(budgets, pace, now),
  };
}
