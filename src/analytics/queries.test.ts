import { describe, expect, it } from "vitest";
import { type GatewayCell, rollUp } from "./queries";

const cell = (day: string, model: string | null, keyId: string | null, tenant: string, usd: number): GatewayCell => ({
  day,
  model,
  keyId,
  tenant,
  requests: 1,
  errors: usd === 0 ? 1 : 0,
  refused: 0,
  tokens: { input: 10, output: 1, cacheRead: 0, cacheWrite: 2 },
  costUsd: usd,
  unpricedRequests: 0,
});

describe("rollUp", () => {
  const cells = [
    cell("2026-03-02", "sonnet", "key_b", "acme", 2),
    cell("2026-03-01", null, null, "default", 0),
    cell("2026-03-01", "sonnet", "key_a", "acme", 1),
  ];

  it("sums the cells of each group, ordered as SQL orders them (NULL first)", () => {
    expect(rollUp(cells, "model").map((g) => [g.key, g.requests, g.costUsd, g.errors])).toEqual([
      [null, 1, 0, 1],
      ["sonnet", 2, 3, 0],
    ]);
    expect(rollUp(cells, "day").map((g) => [g.key, g.requests])).toEqual([
      ["2026-03-01", 2],
      ["2026-03-02", 1],
    ]);
    expect(rollUp(cells, "key").map((g) => g.key)).toEqual([null, "key_a", "key_b"]);
    expect(rollUp(cells, "tenant").map((g) => [g.key, g.tokens])).toEqual([
      ["acme", { input: 20, output: 2, cacheRead: 0, cacheWrite: 4 }],
      ["default", { input: 10, output: 1, cacheRead: 0, cacheWrite: 2 }],
    ]);
  });

  it("has one group for everything, or none when nothing was metered", () => {
    expect(rollUp(cells, "none")).toMatchObject([{ key: null, requests: 3, costUsd: 3 }]);
    expect(rollUp([], "none")).toEqual([]);
  });
});
