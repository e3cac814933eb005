import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../config/schema";
import { openDb } from "../store/db";
import { migrate } from "../store/migrations";
import { applicable, hasBudgets, SpendTotals, windowOf } from "./budgets";
import { type ModelRequestRecord, modelRequestStore } from "./store";
import { GatewayTokens } from "./tokens";

const budgets = (b: unknown) => ConfigSchema.parse({ budgets: b }).budgets;

describe("budget windows", () => {
  const now = new Date("2026-03-31T18:30:00.000Z");
  it.each([
    ["day", "2026-03-31T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
    ["month", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
    [3600, "2026-03-31T17:30:00.000Z", null],
  ] as const)("%s starts %s and resets %s", (window, since, resetsAt) => {
    expect(windowOf(window, now)).toEqual({ since, resetsAt });
  });

  it("rolls a month over the year end", () => {
    expect(windowOf("month", new Date("2026-12-15T00:00:00Z")).resetsAt).toBe("2027-01-01T00:00:00.000Z");
  });
});

describe("applicable budgets", () => {
  const grant = { sessionId: "ses_x", tenant: "acme", ownerKeyId: "key_a" };
  it("takes a key's or tenant's own entry over the '*' default", () => {
    const b = budgets({
      session: { usd: 1 },
      keys: { key_a: { tokens: 10 }, "*": { usd: 5 } },
      tenants: { "*": { usd: 50 } },
    });
    expect(applicable(b, grant).map((a) => [a.scope, a.subject, a.limit, a.setting])).toEqual([
      ["session", "ses_x", { usd: 1 }, "budgets.session"],
      ["key", "key_a", { tokens: 10 }, "budgets.keys.key_a"],
      ["tenant", "acme", { usd: 50 }, 'budgets.tenants."*"'],
    ]);
    expect(applicable(b, { ...grant, ownerKeyId: "key_b" })[1]?.limit).toEqual({ usd: 5 });
  });

  it("has none unless configured, and refuses an empty limit", () => {
    expect(hasBudgets(budgets({}))).toBe(false);
    expect(applicable(budgets({}), grant)).toEqual([]);
    expect(() => budgets({ session: {} })).toThrow(/usd, tokens or both/);
  });
});

describe("gateway tokens", () => {
  it("verify only the latest token of a live session", () => {
    const tokens = new GatewayTokens();
    const first = tokens.issue({ sessionId: "ses_1", tenant: "t", ownerKeyId: null });
    const second = tokens.issue({ sessionId: "ses_1", tenant: "t", ownerKeyId: null });
    expect(tokens.verify(first)).toBeUndefined();
    expect(tokens.verify(second)?.sessionId).toBe("ses_1");
    expect(tokens.verify(`${second}x`)).toBeUndefined();
    expect(tokens.verify(undefined)).toBeUndefined();
    tokens.revoke("ses_1");
    expect(tokens.verify(second)).toBeUndefined();
    expect(tokens.size).toBe(0);
  });
});

describe("spend totals", () => {
  it("add only what was stored since the last check, and match a full sum", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aegis-spend-"));
    const opened = openDb(join(dir, "aegis.db"));
    try {
      await migrate(opened.db);
      const record = (at: string, usd: number, key = "key_a"): ModelRequestRecord => ({
        sessionId: "ses_x",
        tenant: "acme",
        ownerKeyId: key,
        model: "m",
        path: "/v1/messages",
        outcome: "ok",
        status: 200,
        errorType: null,
        inputTokens: 10,
        outputTokens: 5,
        cacheReadTokens: 1,
        cacheWriteTokens: 0,
        costUsd: usd,
        latencyMs: 1,
        ttftMs: 1,
        startedAt: at,
        upstreamRequestId: null,
        rateLimits: null,
      });
      const totals = new SpendTotals();
      const by = { ownerKeyId: "key_a" };
      const since = "2026-03-01T00:00:00.000Z";
      // Before the window, another key's, and two in the window.
      for (const r of [
        record("2026-02-28T23:59:59.000Z", 100),
        record(since, 1, "key_b"),
        record(since, 1),
        record(since, 2),
      ])
        await modelRequestStore.insert(opened.db, r);
      expect(await totals.spend(opened.db, by, since, false)).toMatchObject({ usd: 3, tokens: 32 });
      await modelRequestStore.insert(opened.db, record("2026-03-02T00:00:00.000Z", 4));
      // Two checks at once must not count the new request twice.
      const [a, b] = await Promise.all([
        totals.spend(opened.db, by, since, false),
        totals.spend(opened.db, by, since, false),
      ]);
      expect([a.usd, b.usd]).toEqual([7, 7]);
      const full = await modelRequestStore.spend(opened.db, by, since);
      expect(full).toMatchObject({ usd: 7, tokens: 48 });
      // An ended session's totals are dropped; asked again, they are summed afresh (and still right).
      const session = { sessionId: "ses_x" };
      expect((await totals.spend(opened.db, session, null, false)).usd).toBe(108);
      totals.forgetSession("ses_x");
      expect((await totals.spend(opened.db, session, null, false)).usd).toBe(108);
      // A new window starts from nothing.
      expect((await totals.spend(opened.db, by, "2026-04-01T00:00:00.000Z", false)).usd).toBe(0);
    } finally {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
