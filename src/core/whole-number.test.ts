import { describe, expect, it } from "vitest";
import { z } from "zod";
import { wholeNumber, wholeSeq } from "./whole-number";

describe("wholeNumber", () => {
  const limit = z.object({ limit: wholeNumber(1, 200).prefault(50) });

  it("reads digits, and takes the default when the value is absent", () => {
    expect(limit.parse({ limit: "7" })).toEqual({ limit: 7 });
    expect(limit.parse({ limit: 200 })).toEqual({ limit: 200 });
    expect(limit.parse({})).toEqual({ limit: 50 });
  });

  it("refuses what Number() would have read: hex, exponents, spaces, the empty string", () => {
    for (const v of ["0x10", "1e2", " 5", "5 ", "", "+5", "-1", "1.0", "201", "0", "99999999999999999"]) {
      const r = limit.safeParse({ limit: v });
      expect(r.success, JSON.stringify(v)).toBe(false);
      expect(r.error?.issues[0]?.message).toBe("must be a whole number from 1 to 200");
    }
  });

  it("a sequence goes up to 2^53 − 1", () => {
    expect(wholeSeq().parse("9007199254740991")).toBe(Number.MAX_SAFE_INTEGER);
    expect(wholeSeq().safeParse("9007199254740992").success).toBe(false);
    expect(wholeSeq().parse("0")).toBe(0);
  });

  it("shows in JSON Schema as the integer range it is, default included", () => {
    expect(z.toJSONSchema(limit, { io: "input" }).properties?.limit).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 200,
      default: 50,
    });
  });
});
