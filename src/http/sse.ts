// Server-sent events: snapshot first, then stored events after Last-Event-ID, then live changes
// and heartbeats. Each client has a bounded queue; a client that falls behind is disconnected.
// A stream lasts only as long as the key that opened it: revocation ends it at once, expiry (or the
// end of a rotation's grace) by the next heartbeat.
import type { FastifyReply, FastifyRequest } from "fastify";
import { revokedKeyOf } from "../auth";
import { AppError, defineError } from "../core/errors";
import type { EventBus, StoredEvent } from "../core/events";
import type { EventStore } from "../events/store";
import type { Db } from "../store/db";

export interface SseLimits {
  perKey: number;
  perIp: number;
  total: number;
}

interface Stream {
  close: () => void;
  keyId: string;
  ip: string;
}

/**
 * Open streams: counted per key, per client address and in total (over a limit a new stream is
 * refused), and ended when the server closes instead of holding it open.
 */
export class SseHub {
  private readonly streams = new Set<Stream>();

  /** `onLiveDelivery` hears every live (not replayed) event as it is queued for a client. */
  constructor(
    private readonly limits: SseLimits,
    readonly onLiveDelivery: (e: StoredEvent) => void = () => {},
  ) {}

  /** Which limit a new stream for this key and address would break, if any. */
  over(keyId: string, ip: string): string | undefined {
    const all = [...this.streams];
    if (all.length >= this.limits.total) return "sseConnectionsTotal";
    if (all.filter((s) => s.keyId === keyId).length >= this.limits.perKey) return "sseConnectionsPerKey";
    if (all.filter((s) => s.ip === ip).length >= this.limits.perIp) return "sseConnectionsPerIp";
    return undefined;
  }

  add(stream: Stream): () => void {
    this.streams.add(stream);
    return () => this.streams.delete(stream);
  }

  get size(): number {
    return this.streams.size;
  }

  closeAll(): void {
    for (const s of [...this.streams]) s.close();
  }
}

export interface SseDeps {
  hub: SseHub;
  db: Db;
  events: EventStore;
  bus: EventBus;
  heartbeatMs: number;
  queueLimit: number;
}

export interface SseStream {
  keyId: string;
  sessionId?: string | undefined;
  /** Whether the caller may see events of this session; absent means every event. */
  visible?: ((sessionId: string) => Promise<boolean>) | undefined;
  afterSeq: number;
  snapshot: () => Promise<{ type: string; data: unknown }>;
  /** Whether the caller's credential still works; asked at every heartbeat, and the stream ends when not. */
  active?: (() => Promise<boolean>) | undefined;
}

const settled = Promise.resolve();
/** Stored events read per query while a stream replays history. */
const REPLAY_BATCH = 500;

export const SseErrors = {
  tooManyStreams: defineError("TOO_MANY_STREAMS", 429, "Too many open event streams; close one and retry."),
  invalidResumePoint: defineError(
    "INVALID_RESUME_POINT",
    400,
    "Last-Event-ID must be the id of an event this server sent: a whole number from 0 to 9007199254740991. Reconnect without it to start from the beginning.",
  ),
};

const frame = (e: StoredEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/** The sequence a client resumes after: Last-Event-ID wins over ?after=; an empty header counts as none. */
export function resumePoint(req: FastifyRequest, after: number | undefined): number {
  const header = req.headers["last-event-id"];
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === "") return after ?? 0;
  // Digits only: Number() would also take "1e3", "0x10" or " ", none of them an id this server sent.
  const n = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw SseErrors.invalidResumePoint({ details: { lastEventId: value.slice(0, 100) } });
  return n;
}

export async function streamEvents(
  deps: SseDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  s: SseStream,
): Promise<void> {
  const limit = deps.hub.over(s.keyId, req.ip);
  if (limit) {
    void reply.header("retry-after", "5");
    throw new AppError(
      SseErrors.tooManyStreams.spec,
      `Too many open event streams (limits.${limit}); close one and retry.`,
    );
  }
  const res = reply.raw;
  reply.hijack();
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });

  let lastSeq = s.afterSeq;
  let live = false;
  let closed = false;
  const early: StoredEvent[] = [];
  const pending: string[] = [];
  let blocked = false;
  const untrack = deps.hub.add({ close: () => close(), keyId: s.keyId, ip: req.ip });

  const close = () => {
    if (closed) return;
    closed = true;
    untrack();
    unsubscribe();
    clearInterval(heartbeat);
    res.end();
  };
  const overflow = () => {
    req.log.warn({ sessionId: s.sessionId }, "SSE client too slow; disconnecting");
    closed = true;
    untrack();
    unsubscribe();
    clearInterval(heartbeat);
    res.destroy();
  };
  const write = (chunk: string) => {
    if (closed) return;
    if (blocked) {
      pending.push(chunk);
      if (pending.length > deps.queueLimit) overflow();
      return;
    }
    if (!res.write(chunk)) blocked = true;
  };
  const unblock = () => {
    blocked = false;
    while (!blocked && pending.length > 0) {
      if (!res.write(pending.shift() as string)) blocked = true;
    }
  };
  res.on("drain", unblock);
  /** Resolves once everything written so far has left (or the stream is gone). */
  const drained = async () => {
    while (blocked && !closed && !res.destroyed) {
      // Nothing left to wait for, so no 'drain' will come: carry on.
      if (!res.writableNeedDrain) {
        unblock();
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  };
  const seen = new Map<string, boolean>();
  let order: Promise<void> = settled;
  const send = (e: StoredEvent, fromBus: boolean) => {
    if (e.seq <= lastSeq) return;
    lastSeq = e.seq;
    write(frame(e));
    if (fromBus && !closed) deps.hub.onLiveDelivery(e);
  };
  // Visibility is looked up once per session; deliveries stay in order behind a lookup.
  const deliver = (e: StoredEvent, fromBus: boolean) => {
    const visible = s.visible;
    if (!visible) return send(e, fromBus);
    if (e.sessionId === null) return;
    const known = seen.get(e.sessionId);
    if (known !== undefined && order === settled) return known ? send(e, fromBus) : undefined;
    const sessionId = e.sessionId;
    order = order.then(async () => {
      let ok = seen.get(sessionId);
      if (ok === undefined) {
        ok = await visible(sessionId).catch(() => false);
        seen.set(sessionId, ok);
      }
      if (ok) send(e, fromBus);
    });
    const current = order;
    void current.then(() => {
      if (order === current) order = settled;
    });
  };

  // Live events that arrive during the replay wait here; past the limit they are dropped, and the
  // replay reads them from the store instead (every published event is stored).
  let missedLive = false;
  const unsubscribe = deps.bus.subscribe((e) => {
    if (revokedKeyOf(e) === s.keyId) return close();
    if (s.sessionId && e.sessionId !== s.sessionId) return;
    if (live) deliver(e, true);
    else if (early.push(e) > deps.queueLimit) {
      early.length = 0;
      missedLive = true;
    }
  });
  const heartbeat = setInterval(() => {
    write(`: heartbeat ${Date.now()}\n\n`);
    s.active?.().then(
      (ok) => {
        if (!ok) close();
      },
      (err: Error) => req.log.warn({ err }, "could not recheck an event stream's key; keeping it open"),
    );
  }, deps.heartbeatMs);
  req.raw.on("close", close);

  write("retry: 2000\n\n");
  const snap = await s.snapshot();
  write(`event: ${snap.type}\ndata: ${JSON.stringify(snap.data)}\n\n`);
  // The replay goes at the client's pace: each batch is written once the last one has drained, so
  // history longer than the live queue never counts as a slow client.
  const batchSize = Math.min(REPLAY_BATCH, deps.queueLimit);
  let cursor = lastSeq;
  for (;;) {
    if (closed) return;
    const batch = await deps.events.list(deps.db, { afterSeq: cursor, sessionId: s.sessionId, limit: batchSize });
    for (const e of batch) deliver(e, false);
    // The cursor passes events the caller may not see, too (they never move lastSeq).
    cursor = batch.at(-1)?.seq ?? cursor;
    await order;
    await drained();
    // Between batches other requests get their turn: a long replay never holds the server.
    await new Promise((r) => setImmediate(r));
    if (batch.length < batchSize && !missedLive) break;
    if (batch.length < batchSize) missedLive = false;
  }
  live = true;
  for (const e of early.splice(0)) deliver(e, true);
}
