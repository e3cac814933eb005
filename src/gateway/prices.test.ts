import { describe, expect, it } from "vitest";
import { costOf, isPriced, modelKey } from "./prices";

const usage = (u: Partial<Parameters<typeof costOf>[1]>) => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  ...u,
});

describe("model keys", () => {
  it.each([
    ["claude-opus-5-5", "opus-5.5"],
    ["claude-opus-5", "opus-5.0"],
    ["claude-opus-4-1-20250805", "opus-4.1"],
    ["claude-sonnet-4-5-20250929", "sonnet-4.5"],
    ["claude-opus-4-6[1m]", "opus-4.6"],
    ["claude-haiku-4-5", "haiku-4.5"],
    ["claude-3-5-haiku-20241022", "haiku-3.5"],
    ["claude-3-opus-20240229", "opus-3.0"],
    ["claude-3-7-sonnet-latest", "sonnet-3.7"],
    ["acme-model-1", undefined],
    ["gpt-5", undefined],
  ])("%s -> %s", (model, key) => {
    expect(modelKey(model)).toBe(key);
  });
});

describe("cost", () => {
  it("prices every kind of token at the model's rates, 1h cache writes at their own rate", () => {
    // claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 5m write, $6 1h write per MTok
    const c = costOf(
      "claude-sonnet-4-5-20250929",
      usage({
        inputTokens: 1000,
        outputTokens: 50,
        cacheReadTokens: 300,
        cacheWriteTokens: 20,
        cacheWrite1hTokens: 10,
      }),
    );
    expect(c).toBeCloseTo((1000 * 3 + 50 * 15 + 300 * 0.3 + 10 * 3.75 + 10 * 6) / 1e6, 12);
  });

  it("uses the long-prompt rates for the whole request past the threshold", () => {
    const short = costOf("claude-haiku-5-5", usage({ inputTokens: 100_000, outputTokens: 1000 }));
    const long = costOf(
      "claude-haiku-5-5",
      usage({ inputTokens: 90_000, cacheReadTokens: 20_000, outputTokens: 1000 }),
    );
    expect(short).toBeCloseTo((100_000 * 0.1 + 1000 * 0.5) / 1e6, 12);
    expect(long).toBeCloseTo((90_000 * 0.5 + 20_000 * 0.05 + 1000 * 2.5) / 1e6, 12);
  });

  it("is unknown (null) for a model missing from the table, never another model's price", () => {
    expect(costOf("acme-model-1", usage({ inputTokens: 1000 }))).toBeNull();
    expect(costOf(null, usage({ inputTokens: 1000 }))).toBeNull();
    expect(isPriced("acme-model-1")).toBe(false);
    expect(isPriced("claude-opus-5-55")).toBe(false);
    expect(isPriced("claude-opus-5-5")).toBe(true);
  });
});
