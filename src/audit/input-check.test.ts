import { describe, expect, it } from "vitest";
import { type AuditInput, AuditInputSchema } from "./schema";
import { isPlainAuditInput } from "./store";

const ok: AuditInput = {
  actor: { keyId: "key_1", role: "operator", tenant: "default", ip: "127.0.0.1" },
  action: "session.message",
  target: { type: "session", id: "ses_1" },
  params: { chars: 3, queued: false },
  outcome: "ok",
};
const variants: Array<[string, unknown]> = [
  ["the usual entry", ok],
  ["null actor fields and target", { ...ok, actor: { keyId: null, role: null, tenant: null, ip: null }, target: null }],
  ["an error text", { ...ok, outcome: "error", error: "boom" }],
  ["error explicitly undefined", { ...ok, error: undefined }],
  ["null-prototype objects", Object.assign(Object.create(null), { ...ok, params: Object.create(null) })],
  ["an extra top-level key (zod strips it)", { ...ok, extra: 1 }],
  ["an extra actor key", { ...ok, actor: { ...ok.actor, name: "x" } }],
  ["a missing actor key", { ...ok, actor: { keyId: null, role: null, tenant: null } }],
  ["an undefined actor field", { ...ok, actor: { ...ok.actor, ip: undefined } }],
  ["an empty action", { ...ok, action: "" }],
  ["a 200-character action", { ...ok, action: "a".repeat(200) }],
  ["a 201-character action", { ...ok, action: "a".repeat(201) }],
  ["an empty target id", { ...ok, target: { type: "session", id: "" } }],
  ["an extra target key", { ...ok, target: { ...ok.target, x: 1 } }],
  ["a missing target", { ...ok, target: undefined }],
  ["params as an array", { ...ok, params: [1] }],
  ["params as a class instance", { ...ok, params: new (class P {})() }],
  ["params null", { ...ok, params: null }],
  ["an unknown outcome", { ...ok, outcome: "maybe" }],
  ["a numeric error", { ...ok, error: 5 }],
  ["not an object", "session.message"],
  ["a symbol key in params", { ...ok, params: { [Symbol("s")]: 1, a: 1 } }],
  ["a function-valued constructor in params", { ...ok, params: { constructor: () => 1 } }],
  [
    "a non-enumerable actor field beside an extra one",
    {
      ...ok,
      actor: Object.defineProperty({ keyId: null, role: null, tenant: null, name: "x" }, "ip", {
        value: null,
        enumerable: false,
      }),
    },
  ],
];

describe("the audit input check that skips zod", () => {
  it.each(variants)("agrees with AuditInputSchema: %s", (_name, input) => {
    const parsed = AuditInputSchema.safeParse(input);
    if (isPlainAuditInput(input as AuditInput)) {
      // Accepted as it is: the schema accepts it too, and would have changed nothing.
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(input);
    }
  });

  it("takes the entries the server builds, so they skip the schema", () => {
    expect(isPlainAuditInput(ok)).toBe(true);
    expect(isPlainAuditInput({ ...ok, target: null, error: "x", outcome: "denied" })).toBe(true);
  });
});
