// Paired runs for benchmarks against a baseline measured in the same process.

/**
 * One uncounted warm-up each, then `n` runs each, rotating which goes first so drift hits all alike.
 * Returns each function's results, in the order the functions were given.
 */
export async function alternate<R extends unknown[]>(
  n: number,
  ...fns: { [K in keyof R]: () => Promise<R[K]> }
): Promise<{ [K in keyof R]: Array<R[K]> }> {
  const runs = fns as Array<() => Promise<unknown>>;
  for (const f of runs) await f();
  const results = runs.map(() => [] as unknown[]);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < runs.length; k++) {
      const j = (i + k) % runs.length;
      results[j]?.push(await runs[j]?.());
    }
  }
  return results as { [K in keyof R]: Array<R[K]> };
}
