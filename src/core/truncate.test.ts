import { describe, expect, it } from "vitest";
import { TRUNCATION_MARKER, truncateDeep, truncateText } from "./truncate";

describe("truncate", () => {
  it.each([
    ["short", 10, "short", false],
    ["exactly10!", 10, "exactly10!", false],
    ["a".repeat(50), 20, `${"a".repeat(20 - TRUNCATION_MARKER.length)}${TRUNCATION_MARKER}`, true],
  ])("truncateText(%j, %d)", (input, max, text, truncated) => {
    const r = truncateText(input, max);
    expect(r).toEqual({ text, truncated, originalLength: input.length });
    expect(r.text.length).toBeLessThanOrEqual(max);
  });

  it("truncates strings at any depth and leaves other values alone", () => {
    const out = truncateDeep({ a: "x".repeat(30), b: [1, "y".repeat(30), { c: true }], d: null }, 20) as Record<
      string,
      any
    >;
    expect(out.a.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(out.b[0]).toBe(1);
    expect(out.b[1].length).toBe(20);
    expect(out.b[2]).toEqual({ c: true });
    expect(out.d).toBeNull();
  });
});
