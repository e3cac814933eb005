// The price table: USD per million tokens by model, and the cost of one metered request.
// Source: the model pages and the pricing page on platform.claude.com (standard API rates; batch,
// fast mode and regional premiums are not modelled). A model missing here costs `null` (unknown),
// never another model's price.
import { truncateText } from "../core/truncate";

export interface Rates {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

interface PriceEntry extends Rates {
  /** Higher rates for the whole request when its prompt (input + cache reads + cache writes) is longer. */
  longPrompt?: Rates & { overTokens: number };
}

const r = (input: number, output: number, cacheWrite5m: number, cacheWrite1h: number, cacheRead: number): Rates => ({
  input,
  output,
  cacheWrite5m,
  cacheWrite1h,
  cacheRead,
});

const OPUS_LEGACY = r(15, 75, 18.75, 30, 1.5);
const OPUS_45 = r(5, 25, 6.25, 10, 0.5);
const SONNET_4 = { ...r(3, 15, 3.75, 6, 0.3), longPrompt: { ...r(6, 22.5, 7.5, 12, 0.6), overTokens: 200_000 } };
const SONNET_46 = r(3, 15, 3.75, 6, 0.3);
const SONNET_5 = r(2, 10, 2.5, 4, 0.2);

/** Keyed by `<family>-<major>.<minor>`, as `modelKey` derives it from a model id. */
const TABLE: Record<string, PriceEntry> = {
  "fable-5.1": r(10, 50, 12.5, 20, 0.25),
  "mythos-5.1": r(10, 50, 12.5, 20, 0.25),
  "fable-5.0": r(10, 50, 12.5, 20, 1),
  "mythos-5.0": r(10, 50, 12.5, 20, 1),
  "opus-5.5": r(4, 20, 5, 8, 0.2),
  "opus-5.0": OPUS_45,
  "opus-4.8": OPUS_45,
  "opus-4.7": OPUS_45,
  "opus-4.6": OPUS_45,
  "opus-4.5": OPUS_45,
  "opus-4.1": OPUS_LEGACY,
  "opus-4.0": OPUS_LEGACY,
  "opus-3.0": OPUS_LEGACY,
  "sonnet-5.5": SONNET_5,
  "sonnet-5.0": SONNET_5,
  "sonnet-4.6": SONNET_46,
  "sonnet-4.5": SONNET_4,
  "sonnet-4.0": SONNET_4,
  "sonnet-3.7": r(3, 15, 3.75, 6, 0.3),
  "sonnet-3.5": r(3, 15, 3.75, 6, 0.3),
  "haiku-5.5": {
    ...r(0.1, 0.5, 0.125, 0.2, 0.01),
    longPrompt: { ...r(0.5, 2.5, 0.625, 1, 0.05), overTokens: 100_000 },
  },
  "haiku-4.5": r(1, 5, 1.25, 2, 0.1),
  "haiku-3.5": r(0.8, 4, 1, 1.6, 0.08),
  "haiku-3.0": r(0.25, 1.25, 0.3, 0.5, 0.03),
};

/**
 * `claude-opus-5-5`, `claude-sonnet-4-5-20250929`, `claude-opus-4-6[1m]` -> `opus-5.5`, `sonnet-4.5`,
 * `opus-4.6`; the older `claude-3-5-haiku-20241022` -> `haiku-3.5`. Anything else: undefined.
 */
export function modelKey(model: string): string | undefined {
  const m = model.toLowerCase().replace(/\[[^\]]*\]$/, "");
  const modern = /^claude-(opus|sonnet|haiku|fable|mythos)-(\d)(?:-(\d{1,2}))?(?:-\d{8})?$/.exec(m);
  if (modern) return `${modern[1]}-${modern[2]}.${modern[3] ?? "0"}`;
  const legacy = /^claude-(\d)(?:-(\d))?-(opus|sonnet|haiku)(?:-\d{8})?(?:-latest)?$/.exec(m);
  if (legacy) return `${legacy[3]}-${legacy[1]}.${legacy[2] ?? "0"}`;
  return undefined;
}

/** Model names are short; the one a request names is kept to this (the client chooses it). */
export const MODEL_NAME_MAX = 200;

/** The model name as recorded: as given, cut with the truncation marker past MODEL_NAME_MAX. */
export function recordedModel(model: string | null): string | null {
  return model === null ? null : truncateText(model, MODEL_NAME_MAX).text;
}

export interface MeteredUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  /** All cache writes; `cacheWrite1hTokens` of them were written with the one-hour lifetime. */
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
}

export function isPriced(model: string | null): boolean {
  return model !== null && TABLE[modelKey(model) ?? ""] !== undefined;
}

/** The request's cost in USD, or null when the model is not in the table. */
export function costOf(model: string | null, u: MeteredUsage): number | null {
  const entry = model === null ? undefined : TABLE[modelKey(model) ?? ""];
  if (!entry) return null;
  const prompt = u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  const rates = entry.longPrompt && prompt > entry.longPrompt.overTokens ? entry.longPrompt : entry;
  const write1h = Math.min(u.cacheWrite1hTokens, u.cacheWriteTokens);
  const usd =
    u.inputTokens * rates.input +
    u.outputTokens * rates.output +
    u.cacheReadTokens * rates.cacheRead +
    (u.cacheWriteTokens - write1h) * rates.cacheWrite5m +
    write1h * rates.cacheWrite1h;
  return usd / 1_000_000;
}
