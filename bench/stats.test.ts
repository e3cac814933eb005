import { describe, expect, it } from "vitest";
import { median, percentile, ratioInterval } from "./stats";

describe("bench statistics", () => {
  it("take percentiles by nearest rank", () => {
    const xs = [5, 1, 4, 2, 3];
    expect(median(xs)).toBe(3);
    expect(percentile(xs, 90)).toBe(5);
    expect(percentile(xs, 1)).toBe(1);
    expect(median([])).toBeNaN();
  });

  it("bound a ratio of medians: exact when every round has the same ratio, wider the noisier the rounds", () => {
    const bare = Array.from({ length: 200 }, (_, i) => 20 + (i % 7));
    const steady = bare.map((x) => x * 1.1);
    const [lo, hi] = ratioInterval(steady, bare);
    expect(lo).toBeCloseTo(1.1, 10);
    expect(hi).toBeCloseTo(1.1, 10);

    // The same rounds with noise of ±3 ms on one side: the interval widens around the point ratio.
    const noisy = steady.map((x, i) => x + ((i * 37) % 7) - 3);
    const [nlo, nhi] = ratioInterval(noisy, bare);
    const point = median(noisy) / median(bare);
    expect(nlo).toBeLessThanOrEqual(point);
    expect(nhi).toBeGreaterThanOrEqual(point);
    expect(nhi - nlo).toBeGreaterThan(0.01);
    // Seeded: the same data gives the same interval.
    expect(ratioInterval(noisy, bare)).toEqual([nlo, nhi]);
  });
});
