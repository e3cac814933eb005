// Statistics the benchmarks share: percentiles, and how far a ratio of medians can be trusted.

/** The p-th percentile (0–100) by nearest rank; NaN for no data. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

export const median = (xs: readonly number[]) => percentile(xs, 50);

/** A small seeded generator (mulberry32): the same data gives the same interval on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 95% bootstrap interval for median(a) / median(b), where a[i] and b[i] were measured in the same
 * round (alternate()): rounds are resampled whole, so drift between rounds stays paired.
 */
export function ratioInterval(a: readonly number[], b: readonly number[], resamples = 2000): [number, number] {
  const n = Math.min(a.length, b.length);
  if (n === 0) return [Number.NaN, Number.NaN];
  const next = random(n * 7919 + resamples);
  const ratios: number[] = [];
  const ra = new Array<number>(n);
  const rb = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(next() * n);
      ra[i] = a[j] as number;
      rb[i] = b[j] as number;
    }
    ratios.push(median(ra) / median(rb));
  }
  return [percentile(ratios, 2.5), percentile(ratios, 97.5)];
}
