import { describe, expect, it } from "vitest";
import { canonicalJson, jsonRoundTrip, toJsonValue, toWellFormed } from "./canonical-json";

const fromBits = (hex: string) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
};

describe("canonicalJson (RFC 8785)", () => {
  // RFC 8785 appendix B: IEEE 754 bit patterns and their canonical text.
  it.each([
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"],
  ])("number %s → %s", (bits, text) => {
    expect(canonicalJson(fromBits(bits))).toBe(text);
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["a lone surrogate", "\uD800"],
    ["a lone surrogate key", { "\uDC00": 1 }],
  ])("rejects %s", (_name, value) => {
    expect(() => canonicalJson(value)).toThrow();
  });

  it("sorts keys by UTF-16 code units (RFC 8785 §3.2.3)", () => {
    const input = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    // The emoji (D83D DE00) sorts before U+FB33 though its code point is higher; "1" is not
    // hoisted first the way JavaScript orders integer-like keys.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("sorts nested objects and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: [{ z: 1, y: 2 }, 0], "10": 0, "9": 0 })).toBe(
      '{"10":0,"9":0,"a":[{"y":2,"z":1},0],"b":1}',
    );
  });

  it("reproduces the RFC 8785 §3.2.2 example", () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it.each([
    ["control characters as lowercase \\u00xx", "\u0000\u001f\u007f", '"\\u0000\\u001f\u007f"'],
    ["short escapes", "\b\t\n\f\r", '"\\b\\t\\n\\f\\r"'],
    ["quote and backslash", '"\\', '"\\"\\\\"'],
    ["solidus unescaped", "a/b", '"a/b"'],
    ["non-ASCII as is", "é€😀", '"é€😀"'],
    ["U+2028 as is", "\u2028", '"\u2028"'],
  ])("escapes strings: %s", (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it("drops undefined members and has no whitespace", () => {
    expect(canonicalJson({ b: [1, 2], a: undefined, c: { d: null } })).toBe('{"b":[1,2],"c":{"d":null}}');
  });
});

describe("toJsonValue", () => {
  it.each([
    ["a Date becomes its ISO string", { at: new Date(0) }, { at: "1970-01-01T00:00:00.000Z" }],
    ["undefined members are dropped", { a: 1, b: undefined }, { a: 1 }],
    ["non-finite numbers become null", { n: Number.NaN, i: Number.POSITIVE_INFINITY }, { n: null, i: null }],
    ["negative zero becomes zero", { z: -0 }, { z: 0 }],
    ["lone surrogates in values are replaced", { s: "a\uD800b" }, { s: "a\uFFFDb" }],
    ["lone surrogates in keys are replaced", { "k\uDC00": 1 }, { "k\uFFFD": 1 }],
    ["pairs are kept", { "😀": "😀" }, { "😀": "😀" }],
  ])("%s", (_name, input, expected) => {
    const out = toJsonValue(input);
    expect(out).toEqual(expected);
    expect(() => canonicalJson(out)).not.toThrow();
  });

  it("keeps a __proto__ key as data", () => {
    const out = toJsonValue(JSON.parse('{"__proto__":{"x":1},"k\\udc00":2}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(["__proto__", "k\uFFFD"]);
  });

  it("is stable through a canonical round trip", () => {
    const value = toJsonValue({ b: [0.1, 1e21, "x\u0000"], a: { "\u20ac": true } });
    expect(canonicalJson(JSON.parse(canonicalJson(value)))).toBe(canonicalJson(value));
  });

  it("gives what the JSON round trip gives, for flat params (its fast path) and for everything else", () => {
    const values: unknown[] = [
      { chars: 12, queued: false },
      { a: "x", b: 1.5, c: null, d: true, e: -0, f: 1e21, g: 5e-324, h: "\u0000\u2028", i: "a\uD800" },
      { "k\uDC00": 1, ok: 2 },
      { "€": "😀", "\uFFFF": "", "": 0, "10": 1, "2": 2, b: 3, a: 4 },
      { n: Number.NaN, i: -Infinity },
      { u: undefined, v: 1 },
      { nested: { x: [1, "y", null] }, list: [] },
      { at: new Date(0), fn: () => 1 },
      JSON.parse('{"__proto__":{"x":1},"y":2}'),
      Object.assign(Object.create(null), { z: 1, a: "b" }),
      { toJSON: () => ({ replaced: true }) },
      {},
    ];
    for (const v of values) {
      const fast = toJsonValue(v);
      const slow = jsonRoundTrip(v);
      expect(fast, JSON.stringify(slow)).toStrictEqual(slow);
      expect(Object.keys(fast as object)).toEqual(Object.keys(slow as object));
      expect(canonicalJson(fast)).toBe(canonicalJson(slow));
    }
  });

  it("toWellFormed leaves well-formed text alone", () => {
    expect(toWellFormed("plain 😀")).toBe("plain 😀");
    expect(toWellFormed("\uDE00\uD83D")).toBe("\uFFFD\uFFFD");
  });
});
