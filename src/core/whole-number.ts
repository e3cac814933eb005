// Whole numbers from query strings and headers. z.coerce.number() reads "0x10" as 16, "1e3" as 1000,
// " 5" as 5 and "" as 0; here only digits are a number, and anything else is refused by name.
import { z } from "zod";

const digits = (v: string | number | undefined) => (typeof v === "string" && /^\d{1,16}$/.test(v) ? Number(v) : v);

/**
 * A whole number from `min` to `max`, written in digits (a number passes as it is). For a default,
 * add `.prefault(n)`: it stands in before the digits are read, and shows as the default in OpenAPI
 * (`.default()` outside the preprocess would not).
 */
export function wholeNumber(min: number, max: number) {
  const inner = z
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int()
    .min(min)
    .max(max);
  return z.preprocess(digits, inner);
}

/** A sequence or cursor: a whole number from 0 to 2^53 − 1. */
export const wholeSeq = () => wholeNumber(0, Number.MAX_SAFE_INTEGER);
