// Canonical JSON (RFC 8785) and the normalisation that keeps it stable through storage and export.
import canonicalize from "canonicalize";

/** Replaces lone UTF-16 surrogates with U+FFFD, as UTF-8 storage would. */
export function toWellFormed(s: string): string {
  return s.toWellFormed();
}

/** The RFC 8785 serialisation of a JSON-compatible value; throws on NaN, Infinity, lone surrogates and cycles. */
export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new TypeError("value has no JSON representation");
  return out;
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The value as JSON would carry it (`toJSON` applied, undefined dropped, non-finite numbers to
 * null), with every string and key made well-formed. Hashing this instead of the caller's value
 * means what is read back from the database or an export hashes the same.
 */
export function toJsonValue(value: unknown): JsonValue {
  return flatJsonValue(value) ?? jsonRoundTrip(value);
}

/**
 * toJsonValue of the usual audit params, a plain object of strings, finite numbers, booleans and
 * nulls, without the JSON round trip (a reviver makes JSON.parse slow); undefined for anything else.
 */
function flatJsonValue(value: unknown): JsonValue | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value)) {
    if (key === "__proto__" || !key.isWellFormed()) return undefined;
    const v: unknown = (value as Record<string, unknown>)[key];
    if (typeof v === "string") out[key] = v.toWellFormed();
    else if (typeof v === "number") {
      if (!Number.isFinite(v)) return undefined;
      out[key] = v === 0 ? 0 : v; // -0 as JSON carries it
    } else if (typeof v === "boolean" || v === null) out[key] = v;
    else return undefined;
  }
  return out;
}

/** toJsonValue for any value: through JSON text and back, with every string made well-formed. */
export function jsonRoundTrip(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError("value has no JSON representation");
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === "string") return toWellFormed(v);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.some((k) => !k.isWellFormed())) {
        // fromEntries defines own properties, so a "__proto__" key stays data.
        return Object.fromEntries(keys.map((k) => [toWellFormed(k), (v as Record<string, unknown>)[k]]));
      }
    }
    return v;
  }) as JsonValue;
}
