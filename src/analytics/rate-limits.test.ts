import { describe, expect, it } from "vitest";
import { budgetOf, forecast } from "./rate-limits";

const pace = {
  turnsSampled: 4,
  requestsPerTurn: 2.5,
  tokensPerTurn: 1000,
  inputTokensPerTurn: 800,
  outputTokensPerTurn: 200,
};
const now = new Date("2026-01-01T00:00:00Z");
const later = "2026-01-01T00:01:00Z";

describe("rate-limit forecast", () => {
  it("reads one limit's headers", () => {
    const h = {
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": "12",
      "anthropic-ratelimit-requests-reset": later,
    };
    expect(budgetOf(h, "requests")).toEqual({ limit: 50, remaining: 12, reset: later });
    expect(budgetOf(h, "tokens")).toBeNull();
  });

  it("is the tightest limit's remaining budget divided by the use per turn", () => {
    const f = forecast(
      {
        requests: { limit: 50, remaining: 12, reset: later },
        tokens: { limit: 100_000, remaining: 9_500, reset: later },
        inputTokens: null,
        outputTokens: { limit: 10_000, remaining: 5_000, reset: later },
      },
      pace,
      now,
    );
    expect(f).toEqual({ turnsLeft: 4, limitedBy: "requests", resetsAt: later });
  });

  it("counts a limit whose reset has passed as full again", () => {
    const f = forecast(
      {
        requests: { limit: 50, remaining: 0, reset: "2025-12-31T23:59:00Z" },
        tokens: null,
        inputTokens: { limit: 8_000, remaining: 4_000, reset: later },
        outputTokens: null,
      },
      pace,
      now,
    );
    expect(f).toEqual({ turnsLeft: 5, limitedBy: "input_tokens", resetsAt: later });
  });

  it("forecasts nothing without a pace or headers", () => {
    const none = { requests: null, tokens: null, inputTokens: null, outputTokens: null };
    expect(forecast(none, pace, now).turnsLeft).toBeNull();
    const noPace = {
      ...pace,
      requestsPerTurn: null,
      tokensPerTurn: null,
      inputTokensPerTurn: null,
      outputTokensPerTurn: null,
    };
    expect(forecast({ ...none, requests: { limit: 5, remaining: 5, reset: null } }, noPace, now).turnsLeft).toBeNull();
  });
});
