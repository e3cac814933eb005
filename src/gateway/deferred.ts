// Writes that wait a little: a finished answer's record is stored after Claude Code has read the
// answer and replied, so its unit of work does not compete with that (~0.5 ms on a busy 2-core
// host). Anyone who must see the records first (a budget check, a turn's end, a stop) flushes them.

/** How long a write waits unless flushed. */
export const RECORD_DELAY_MS = 25;

export class DeferredWrites {
  /** Pending writes, each with the session it belongs to; each runs once. */
  private readonly pending = new Map<() => Promise<void>, string>();

  /** Runs `write` after RECORD_DELAY_MS, or sooner when flush() asks. */
  add(sessionId: string, write: () => Promise<void>): void {
    const run = () => {
      clearTimeout(timer);
      this.pending.delete(run);
      return write();
    };
    const timer = setTimeout(() => void run(), RECORD_DELAY_MS);
    this.pending.set(run, sessionId);
  }

  /** Runs the pending writes (of one session, or all) now. */
  async flush(sessionId?: string): Promise<void> {
    const due = [...this.pending].filter(([, s]) => sessionId === undefined || s === sessionId);
    await Promise.all(due.map(([run]) => run()));
  }
}
