// Paired runs for benchmarks against a baseline measured in the same process.

/** One uncounted warm-up each, then `n` runs each, alternating which goes first so drift hits both alike. */
export async function alternate<T>(n: number, a: () => Promise<T>, b: () => Promise<T>) {
  await a();
  await b();
  const [xs, ys]: [T[], T[]] = [[], []];
  for (let i = 0; i < n; i++) {
    const runs = [[a, xs] as const, [b, ys] as const];
    for (const [f, into] of i % 2 === 0 ? runs : runs.reverse()) into.push(await f());
  }
  return [xs, ys] as const;
}
