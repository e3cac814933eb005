// Budgets: which limits apply to a session's request, over which window, and whether one is used up.
import type { z } from "zod";
import type { BudgetLimitSchema, Config } from "../config/schema";
import type { Db } from "../store/db";
import type { BudgetScope } from "./events";
import { modelRequestStore, type Spend } from "./store";
import type { SessionGrant } from "./tokens";

type Limit = z.infer<typeof BudgetLimitSchema>;
type BudgetsConfig = Config["budgets"];
export type Window = BudgetsConfig["window"];

export interface Applicable {
  scope: BudgetScope;
  subject: string;
  limit: Limit;
  /** The config key that sets it, for the message. */
  setting: string;
}

export interface Breach {
  scope: BudgetScope;
  subject: string;
  unit: "usd" | "tokens";
  limit: number;
  spent: number;
  window: Window | "session";
  resetsAt: string | null;
  message: string;
}

/** The start of the window that contains `now`, and when the next one starts (null for a rolling window). */
export function windowOf(window: Window, now: Date): { since: string; resetsAt: string | null } {
  if (typeof window === "number")
    return { since: new Date(now.getTime() - window * 1000).toISOString(), resetsAt: null };
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  if (window === "month") {
    return {
      since: new Date(Date.UTC(y, m, 1)).toISOString(),
      resetsAt: new Date(Date.UTC(y, m + 1, 1)).toISOString(),
    };
  }
  const d = now.getUTCDate();
  return { since: new Date(Date.UTC(y, m, d)).toISOString(), resetsAt: new Date(Date.UTC(y, m, d + 1)).toISOString() };
}

/** The limits configured for this session, its key and its tenant ("*" entries are the defaults). */
export function applicable(budgets: BudgetsConfig, g: SessionGrant): Applicable[] {
  const out: Applicable[] = [];
  if (budgets.session)
    out.push({ scope: "session", subject: g.sessionId, limit: budgets.session, setting: "budgets.session" });
  if (g.ownerKeyId !== null) {
    const own = budgets.keys[g.ownerKeyId];
    const limit = own ?? budgets.keys["*"];
    if (limit)
      out.push({ scope: "key", subject: g.ownerKeyId, limit, setting: `budgets.keys.${own ? g.ownerKeyId : '"*"'}` });
  }
  const own = budgets.tenants[g.tenant];
  const limit = own ?? budgets.tenants["*"];
  if (limit)
    out.push({ scope: "tenant", subject: g.tenant, limit, setting: `budgets.tenants.${own ? g.tenant : '"*"'}` });
  return out;
}

export function hasBudgets(budgets: BudgetsConfig): boolean {
  return (
    budgets.session !== undefined || Object.keys(budgets.keys).length > 0 || Object.keys(budgets.tenants).length > 0
  );
}

const WHO: Record<BudgetScope, string> = { session: "Session", key: "API key", tenant: "Tenant" };

function describe(
  a: Applicable,
  unit: "usd" | "tokens",
  spent: number,
  window: Window | "session",
  resetsAt: string | null,
) {
  const amount = (n: number) => (unit === "usd" ? `$${n.toFixed(4)}` : `${Math.round(n)} tokens`);
  const span =
    window === "session"
      ? "over its life"
      : typeof window === "number"
        ? `in the last ${window} s`
        : `this UTC ${window}`;
  const when =
    window === "session"
      ? "start a new session"
      : resetsAt
        ? `wait until ${resetsAt}`
        : "wait for older requests to leave the window";
  return (
    `Aegis budget exceeded: ${WHO[a.scope]} ${a.subject} has used ${amount(spent)} ${span}, ` +
    `and its budget is ${amount(unit === "usd" ? (a.limit.usd ?? 0) : (a.limit.tokens ?? 0))} (${a.setting}.${unit}). ` +
    `Raise the budget in the Aegis config, or ${when}.`
  );
}

/**
 * What a session, key or tenant has spent in a window with a fixed start (a session's life, this
 * UTC day or month), kept as running totals: each check adds only the requests stored since the
 * last one instead of summing the whole window again. Rolling windows (seconds) lose old requests
 * as time passes, so they are summed whole every time.
 */
export class SpendTotals {
  private readonly totals = new Map<string, { since: string | null; usd: number; tokens: number; lastId: number }>();

  /** A session that ended spends no more: its totals are dropped. */
  forgetSession(sessionId: string): void {
    this.totals.delete(JSON.stringify({ sessionId }));
  }

  async spend(
    db: Db,
    by: { sessionId?: string; ownerKeyId?: string; tenant?: string },
    since: string | null,
    rolling: boolean,
  ): Promise<Spend> {
    if (rolling) return modelRequestStore.spend(db, by, since);
    const key = JSON.stringify(by);
    for (;;) {
      const cached = this.totals.get(key);
      const base = cached && cached.since === since ? cached : { since, usd: 0, tokens: 0, lastId: 0 };
      const added = await modelRequestStore.spend(db, by, since, base.lastId);
      // Another check moved the totals meanwhile: start again from where it left them.
      if (this.totals.get(key) !== cached) continue;
      const next = {
        since,
        usd: base.usd + added.usd,
        tokens: base.tokens + added.tokens,
        lastId: Math.max(base.lastId, added.lastId),
      };
      this.totals.set(key, next);
      return next;
    }
  }
}

/** The first budget this session's next request would exceed, if any. */
export async function firstBreach(
  db: Db,
  budgets: BudgetsConfig,
  g: SessionGrant,
  now: Date,
  totals: SpendTotals = new SpendTotals(),
): Promise<Breach | undefined> {
  const { since, resetsAt } = windowOf(budgets.window, now);
  const rolling = typeof budgets.window === "number";
  for (const a of applicable(budgets, g)) {
    const window = a.scope === "session" ? ("session" as const) : budgets.window;
    const spent: Spend =
      a.scope === "session"
        ? await totals.spend(db, { sessionId: a.subject }, null, false)
        : await totals.spend(db, a.scope === "key" ? { ownerKeyId: a.subject } : { tenant: a.subject }, since, rolling);
    const reset = a.scope === "session" ? null : resetsAt;
    for (const unit of ["usd", "tokens"] as const) {
      const limit = a.limit[unit];
      if (limit !== undefined && spent[unit] >= limit) {
        return {
          scope: a.scope,
          subject: a.subject,
          unit,
          limit,
          spent: spent[unit],
          window,
          resetsAt: reset,
          message: describe(a, unit, spent[unit], window, reset),
        };
      }
    }
  }
  return undefined;
}
