// Counts events per key in fixed windows, synchronously: the request and failed-authentication
// limits of the API, the hook endpoint and the model gateway (which runs outside Fastify).

export interface WindowState {
  /** Events counted in the key's current window. */
  count: number;
  /** Seconds until the window resets (0 when the key has no open window). */
  resetsInSeconds: number;
}

export class FixedWindowCounter {
  private readonly windows = new Map<string, { count: number; startedAt: number }>();

  constructor(
    private readonly windowMs: number,
    /** Keys kept at most; the oldest windows go first beyond it (a flood of addresses cannot grow memory). */
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key's window as it stands, without counting. */
  read(key: string): WindowState {
    const w = this.open(key);
    return w ? { count: w.count, resetsInSeconds: this.resetsIn(w) } : { count: 0, resetsInSeconds: 0 };
  }

  /** Counts one event for the key. */
  hit(key: string): WindowState {
    let w = this.open(key);
    if (!w) {
      w = { count: 0, startedAt: this.now() };
      this.windows.delete(key);
      this.windows.set(key, w);
      if (this.windows.size > this.maxKeys) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
    }
    w.count += 1;
    return { count: w.count, resetsInSeconds: this.resetsIn(w) };
  }

  private open(key: string) {
    const w = this.windows.get(key);
    return w && this.now() - w.startedAt < this.windowMs ? w : undefined;
  }

  private resetsIn(w: { startedAt: number }): number {
    return Math.max(1, Math.ceil((w.startedAt + this.windowMs - this.now()) / 1000));
  }
}
