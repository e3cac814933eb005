// WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside whichever commit
// crosses the threshold, on the event loop: every ~15 turns one commit copied ~1,000 pages and
// synced the file (~0.3 ms of the loop per turn on average, and a slow turn each time). A second
// connection on a worker thread checkpoints instead, beside the writer (PASSIVE never blocks it).
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import type { Logger } from "../core/log";

/** Plain JS, so the worker needs no TypeScript loader; it only opens the file and checkpoints. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("busy_timeout = 5000");
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage({ stopped: true });
});
parentPort.postMessage({ ready: true });
`;

/** SQLite's own default: checkpoint once the WAL holds this many pages. */
const AUTO_CHECKPOINT_PAGES = 1000;
/**
 * The writer's own checkpoint while the worker runs: a safety net. Under writes that never pause,
 * a commit lands during each of the worker's checkpoints, the WAL is never fully copied and so
 * never starts over; past this many pages (~16 MB) the writer checkpoints itself, as SQLite does.
 */
export const FALLBACK_CHECKPOINT_PAGES = 4000;

export interface CheckpointerOptions {
  intervalMs?: number;
  /** The better-sqlite3 module the worker loads (tests pass a missing one to see the fallback). */
  driver?: string;
  logger?: Logger | undefined;
}

export interface Checkpointer {
  /** Whether the worker checkpoints (false: SQLite's automatic checkpoints run on the writer again). */
  readonly active: boolean;
  stop(): Promise<void>;
}

/**
 * Moves checkpoints of `file` (open in WAL mode on `writer`) to a worker. If the worker cannot
 * start or dies, the writer checkpoints automatically again, and past FALLBACK_CHECKPOINT_PAGES
 * it does anyway: the WAL never grows unchecked.
 */
export function startCheckpointer(
  writer: Database.Database,
  file: string,
  opts: CheckpointerOptions = {},
): Checkpointer {
  const driver = opts.driver ?? createRequire(import.meta.url).resolve("better-sqlite3");
  writer.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
  let active = true;
  let stopped = false;
  const fallBack = (why: string) => {
    if (!active) return;
    active = false;
    if (writer.open) writer.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    if (!stopped) opts.logger?.warn({ reason: why }, "checkpoint worker unavailable; the writer checkpoints itself");
  };
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, driver, intervalMs: opts.intervalMs ?? 250 },
  });
  // The worker never holds the process open.
  worker.unref();
  let onStopped: (() => void) | undefined;
  worker.on("message", (m: { error?: string; stopped?: boolean }) => {
    if (m.error) opts.logger?.warn({ err: m.error }, "WAL checkpoint failed; retrying");
    if (m.stopped) onStopped?.();
  });
  worker.on("error", (err) => fallBack(err.message));
  worker.on("exit", (code) => {
    fallBack(`exited with code ${code}`);
    onStopped?.();
  });
  return {
    get active() {
      return active;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!active) return;
      await new Promise<void>((resolve) => {
        onStopped = resolve;
        worker.postMessage("stop");
      });
      await worker.terminate();
    },
  };
}
