import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json";
import { buildRecord, canonicalBody, hashRecord, newAuditId, nextRecord, sha256Hex } from "./chain";
import { type AuditInput, AuditRecordSchema, GENESIS_HASH, GENESIS_HEAD } from "./schema";
import { makeChain, sampleInput } from "./testing";

const meta = { id: "01jq0000000000000000000000", time: "2026-01-01T00:00:00.000Z" };

describe("hash chain", () => {
  it("starts from 64 zeros and links each record to the previous hash", () => {
    const chain = makeChain(3);
    expect(chain[0]).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(chain[1]!.prevHash).toBe(chain[0]!.hash);
    expect(chain[2]!.prevHash).toBe(chain[1]!.hash);
    for (const r of chain) expect(AuditRecordSchema.parse(r)).toEqual(r);
  });

  it("hashes SHA-256 hex over the JCS of every field but hash", () => {
    const r = buildRecord(GENESIS_HEAD, sampleInput(5), meta);
    const { hash, ...body } = r;
    expect(hash).toBe(sha256Hex(canonicalJson(body)));
    expect(hashRecord(r)).toBe(hash);
    // A known vector, so another implementation can check itself against this one.
    expect(
      sha256Hex(
        canonicalJson({
          seq: 1,
          id: meta.id,
          time: meta.time,
          actor: { keyId: null, role: null, tenant: null, ip: null },
          action: "a.b",
          target: null,
          params: {},
          outcome: "ok",
          prevHash: GENESIS_HASH,
        }),
      ),
    ).toBe(
      buildRecord(
        GENESIS_HEAD,
        {
          actor: { keyId: null, role: null, tenant: null, ip: null },
          action: "a.b",
          target: null,
          params: {},
          outcome: "ok",
        },
        meta,
      ).hash,
    );
  });

  it.each<[string, Partial<AuditInput>]>([
    ["a Date and undefined in params", { params: { at: new Date(0), gone: undefined } }],
    ["lone surrogates everywhere", { action: "x\uD800", params: { "k\uDC00": "v\uD800" }, error: "\uDFFF" }],
    ["a __proto__ param", { params: JSON.parse('{"__proto__":{"polluted":true}}') }],
  ])("normalises %s so a JSON round trip re-hashes the same", (_name, change) => {
    const r = buildRecord(GENESIS_HEAD, { ...sampleInput(1), ...change }, meta);
    const back = JSON.parse(JSON.stringify(r));
    expect(AuditRecordSchema.safeParse(back).success).toBe(true);
    expect(hashRecord(back)).toBe(r.hash);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("omits error when absent and keeps an empty one", () => {
    const base = { ...sampleInput(1), outcome: "ok" as const };
    delete base.error;
    expect("error" in buildRecord(GENESIS_HEAD, base, meta)).toBe(false);
    expect(buildRecord(GENESIS_HEAD, { ...base, error: "" }, meta).error).toBe("");
  });

  it("rejects params that are not a JSON object", () => {
    expect(() => buildRecord(GENESIS_HEAD, { ...sampleInput(1), params: [] as never }, meta)).toThrow();
  });

  it("makes unique, sortable ids", () => {
    const ids = Array.from({ length: 100 }, newAuditId);
    expect(new Set(ids).size).toBe(100);
    expect([...ids].sort()).toEqual(ids);
  });

  it("writes a record's canonical form by hand exactly as the generic serialiser does", () => {
    const odd = [
      'quote " and \\ backslash',
      "line\nbreak\ttab\u0001",
      "émoji 🚀 and 中文",
      "\uD800 lone",
      "",
      "\u2028",
    ];
    const inputs: AuditInput[] = [];
    for (const [i, s] of odd.entries()) {
      inputs.push({
        actor: { keyId: s, role: i % 2 ? null : "admin", tenant: i % 3 ? s : null, ip: i % 2 ? "::1" : null },
        action: `session.${s}`,
        target: i % 2 ? null : { type: s, id: `ses_${s}` },
        params: { [s]: s, n: i, nested: { z: [1, s, null], a: true }, ...(i % 2 ? { __proto__: s } : {}) },
        outcome: i % 2 ? "denied" : "ok",
        ...(i % 3 ? { error: s } : {}),
      });
    }
    let head = GENESIS_HEAD;
    for (const input of inputs) {
      const { record, paramsJson } = nextRecord(head, input, { id: newAuditId(), time: meta.time });
      const { hash, ...body } = record;
      expect(paramsJson).toBe(canonicalJson(record.params));
      expect(canonicalBody(body, paramsJson)).toBe(canonicalJson(body));
      expect(hashRecord(record)).toBe(hash);
      head = record;
    }
  });
});
