// Bounded copies of large payloads, with an explicit marker so readers know data was cut.
export const TRUNCATION_MARKER = "…[truncated]";

export interface Truncated {
  text: string;
  truncated: boolean;
  originalLength: number;
}

export function truncateText(text: string, max: number): Truncated {
  if (text.length <= max) return { text, truncated: false, originalLength: text.length };
  const keep = Math.max(0, max - TRUNCATION_MARKER.length);
  return { text: text.slice(0, keep) + TRUNCATION_MARKER, truncated: true, originalLength: text.length };
}

/** Truncates every long string inside a JSON-like value. */
export function truncateDeep(value: unknown, max: number): unknown {
  if (typeof value === "string") return truncateText(value, max).text;
  if (Array.isArray(value)) return value.map((v) => truncateDeep(v, max));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, truncateDeep(v, max)]));
  }
  return value;
}
