import { describe, expect, it } from "vitest";
import { FixedWindowCounter } from "./fixed-window";

describe("FixedWindowCounter", () => {
  it("counts per key within a window, reads without counting, and starts over when the window ends", () => {
    let now = 1_000_000;
    const c = new FixedWindowCounter(60_000, 100, () => now);
    expect(c.read("a")).toEqual({ count: 0, resetsInSeconds: 0 });
    expect(c.hit("a").count).toBe(1);
    expect(c.hit("a").count).toBe(2);
    expect(c.hit("b").count).toBe(1);
    expect(c.read("a")).toEqual({ count: 2, resetsInSeconds: 60 });
    now += 45_500;
    expect(c.read("a").resetsInSeconds).toBe(15);
    now += 14_500;
    expect(c.read("a")).toEqual({ count: 0, resetsInSeconds: 0 });
    expect(c.hit("a")).toEqual({ count: 1, resetsInSeconds: 60 });
  });

  it("keeps at most maxKeys windows, dropping the oldest first", () => {
    let now = 0;
    const c = new FixedWindowCounter(60_000, 3, () => now);
    for (const k of ["a", "b", "c"]) {
      c.hit(k);
      now += 1;
    }
    c.hit("d");
    expect(c.read("a").count).toBe(0);
    expect(["b", "c", "d"].map((k) => c.read(k).count)).toEqual([1, 1, 1]);
    // A window that restarts counts as new: it is no longer the oldest.
    now += 60_000;
    c.hit("b");
    c.hit("e");
    expect(c.read("b").count).toBe(1);
  });
});
