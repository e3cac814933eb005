import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../config/schema";
import { applicable, hasBudgets, windowOf } from "./budgets";
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
