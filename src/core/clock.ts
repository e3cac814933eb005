// Injectable time source so tests can control "now".
export interface Clock {
  now(): Date;
  /** Monotonic milliseconds for measuring durations. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonic: () => performance.now(),
};
