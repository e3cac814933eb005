import { describe, expect, it } from "vitest";
import { permissionHoldMs } from "./timeout";

describe("permissionHoldMs", () => {
  it.each([
    [120, undefined, 115_000],
    [120, 30, 25_000],
    [30, 120, 25_000],
    [30, 8, 4_000],
    [30, 4, 2_000],
    [5, undefined, 2_500],
    [30, 1, 500],
  ])("server %i s, hook %s s: held %i ms", (server, hook, held) => {
    expect(permissionHoldMs(server, hook)).toBe(held);
  });
});
