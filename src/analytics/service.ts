// The analytics service: sessions, turns, tokens, cost and rate limits for what a caller may read.
import { type Caller, sessionListScope, type TenantPolicies } from "../auth";
import type { Config } from "../config/schema";
import type { Clock } from "../core/clock";
import { isPriced } from "../gateway";
import { type SessionStatus, SessionStatusSchema } from "../session";
import type { Db } from "../store/db";
import { AnalyticsErrors } from "./errors";
import { gatewayCube, rollUp, sessionCounts, turnGroups, zeroTokens } from "./queries";
import { rateLimits } from "./rate-limits";
import type { AnalyticsCosts, AnalyticsQuery, AnalyticsRateLimits, AnalyticsSummary, AnalyticsTokens } from "./schema";
import type { Range, Scope } from "./scope";

const DEFAULT_DAYS = 30;

const cost = (g: { costUsd: number; unpricedRequests: number; requests: number }) => ({
  costUsd: round(g.costUsd),
  unpricedRequests: g.unpricedRequests,
  requests: g.requests,
});
/** Sums of floats otherwise print as 0.30000000000000004; a hundredth of a micro-dollar is plenty. */
const round = (usd: number) => Math.round(usd * 1e8) / 1e8;

export class AnalyticsService {
  private readonly tenants: TenantPolicies;

  constructor(private readonly deps: { db: Db; clock: Clock; config: Config }) {
    this.tenants = (t) => ({ shareSessions: deps.config.auth.tenants[t]?.shareSessions ?? false });
  }

  private scope(caller: Caller): Scope {
    return sessionListScope(caller.principal, this.tenants);
  }

  private range(q: AnalyticsQuery): Range {
    const to = q.to ? new Date(q.to) : this.deps.clock.now();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_DAYS * 86_400_000);
    if (from >= to) throw AnalyticsErrors.rangeInvalid({ details: { from: from.toISOString(), to: to.toISOString() } });
    return { from: from.toISOString(), to: to.toISOString() };
  }

  async summary(q: AnalyticsQuery, caller: Caller): Promise<AnalyticsSummary> {
    const { db } = this.deps;
    const scope = this.scope(caller);
    const range = this.range(q);
    const [sessions, turns, turnDays, cube] = await Promise.all([
      sessionCounts(db, scope, range),
      turnGroups(db, scope, range, false),
      turnGroups(db, scope, range, true),
      gatewayCube(db, scope, range),
    ]);
    const gateway = rollUp(cube, "none");
    const gatewayDays = rollUp(cube, "day");
    const byStatus = Object.fromEntries(
      SessionStatusSchema.options.map((s) => [s, sessions.byStatus.get(s) ?? 0]),
    ) as Record<SessionStatus, number>;
    const t = turns[0];
    const g = gateway[0];
    const days = new Set([...sessions.byDay.keys(), ...turnDays.map((d) => d.key), ...gatewayDays.map((d) => d.key)]);
    const daily = [...days]
      .filter((d): d is string => d !== null)
      .sort()
      .map((date) => {
        const gd = gatewayDays.find((d) => d.key === date);
        const td = turnDays.find((d) => d.key === date);
        return {
          date,
          sessions: sessions.byDay.get(date) ?? 0,
          turns: td?.total ?? 0,
          requests: gd?.requests ?? 0,
          tokens: gd?.tokens ?? zeroTokens(),
          costUsd: round(gd?.costUsd ?? 0),
          unpricedRequests: gd?.unpricedRequests ?? 0,
          claudeCodeCostUsd: round(td?.costUsd ?? 0),
        };
      });
    return {
      ...range,
      sessions: { created: [...sessions.byStatus.values()].reduce((a, b) => a + b, 0), byStatus },
      turns: {
        total: t?.total ?? 0,
        completed: t?.completed ?? 0,
        failed: t?.failed ?? 0,
        interrupted: t?.interrupted ?? 0,
      },
      gateway: {
        ...cost(g ?? { costUsd: 0, unpricedRequests: 0, requests: 0 }),
        errors: g?.errors ?? 0,
        refused: g?.refused ?? 0,
        tokens: g?.tokens ?? zeroTokens(),
      },
      claudeCode: { tokens: t?.tokens ?? zeroTokens(), costUsd: round(t?.costUsd ?? 0) },
      daily,
    };
  }

  async costs(q: AnalyticsQuery, caller: Caller): Promise<AnalyticsCosts> {
    const { db } = this.deps;
    const scope = this.scope(caller);
    const range = this.range(q);
    // One pass over the requests for all five groupings.
    const [cube, turnDays] = await Promise.all([gatewayCube(db, scope, range), turnGroups(db, scope, range, true)]);
    const total = rollUp(cube, "none");
    const byModel = rollUp(cube, "model");
    const byDay = rollUp(cube, "day");
    const byKey = rollUp(cube, "key");
    const byTenant = rollUp(cube, "tenant");
    return {
      ...range,
      total: cost(total[0] ?? { costUsd: 0, unpricedRequests: 0, requests: 0 }),
      byModel: byModel.map((m) => ({
        model: m.key,
        requests: m.requests,
        // Unknown stays unknown: a model missing from the price table is never priced as another.
        costUsd: isPriced(m.key) ? round(m.costUsd) : m.unpricedRequests === 0 ? 0 : null,
      })),
      byDay: byDay.map((d) => ({ date: d.key ?? "", ...cost(d) })),
      byKey: byKey.map((k) => ({ keyId: k.key, ...cost(k) })),
      byTenant: byTenant.map((k) => ({ tenant: k.key ?? "", ...cost(k) })),
      claudeCode: {
        costUsd: round(turnDays.reduce((a, d) => a + d.costUsd, 0)),
        byDay: turnDays.map((d) => ({ date: d.key ?? "", costUsd: round(d.costUsd) })),
      },
    };
  }

  async tokens(q: AnalyticsQuery, caller: Caller): Promise<AnalyticsTokens> {
    const { db } = this.deps;
    const scope = this.scope(caller);
    const range = this.range(q);
    const [cube, turns] = await Promise.all([gatewayCube(db, scope, range), turnGroups(db, scope, range, false)]);
    const [total, byModel] = [rollUp(cube, "none"), rollUp(cube, "model")];
    return {
      ...range,
      total: { ...(total[0]?.tokens ?? zeroTokens()), requests: total[0]?.requests ?? 0 },
      byModel: byModel.map((m) => ({ model: m.key, requests: m.requests, ...m.tokens })),
      claudeCode: turns[0]?.tokens ?? zeroTokens(),
    };
  }

  async rateLimits(caller: Caller): Promise<AnalyticsRateLimits> {
    return rateLimits(this.deps.db, this.scope(caller), this.deps.clock.now());
  }
}
