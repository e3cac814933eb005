// Server-sent events: snapshot first, then stored events after Last-Event-ID, then live changes
// and heartbeats. Each client has a bounded queue; a client that falls behind is disconnected.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EventBus, StoredEvent } from "../core/events";
import type { EventStore } from "../events/store";
import type { Db } from "../store/db";

/** Open streams, so a closing server can end them instead of waiting on them. */
export class SseHub {
  private readonly streams = new Set<() => void>();

  add(close: () => void): () => void {
    this.streams.add(close);
    return () => this.streams.delete(close);
  }

  get size(): number {
    return this.streams.size;
  }

  closeAll(): void {
    for (const close of [...this.streams]) close();
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
  sessionId?: string | undefined;
  afterSeq: number;
  snapshot: () => Promise<{ type: string; data: unknown }>;
}

const frame = (e: StoredEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/** The sequence a client resumes after: Last-Event-ID wins over ?after=. */
export function resumePoint(req: FastifyRequest, after: number | undefined): number {
  const header = req.headers["last-event-id"];
  const value = Array.isArray(header) ? header[0] : header;
  const n = value === undefined ? Number.NaN : Number(value);
  return Number.isInteger(n) && n >= 0 ? n : (after ?? 0);
}

export async function streamEvents(
  deps: SseDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  s: SseStream,
): Promise<void> {
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
  const untrack = deps.hub.add(() => close());

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
  res.on("drain", () => {
    blocked = false;
    while (!blocked && pending.length > 0) {
      if (!res.write(pending.shift() as string)) blocked = true;
    }
  });
  const deliver = (e: StoredEvent) => {
    if (e.seq <= lastSeq) return;
    lastSeq = e.seq;
    write(frame(e));
  };

  const unsubscribe = deps.bus.subscribe((e) => {
    if (s.sessionId && e.sessionId !== s.sessionId) return;
    if (live) deliver(e);
    else if (early.push(e) > deps.queueLimit) overflow();
  });
  const heartbeat = setInterval(() => write(`: heartbeat ${Date.now()}\n\n`), deps.heartbeatMs);
  req.raw.on("close", close);

  write("retry: 2000\n\n");
  const snap = await s.snapshot();
  write(`event: ${snap.type}\ndata: ${JSON.stringify(snap.data)}\n\n`);
  for (;;) {
    if (closed) return;
    const batch = await deps.events.list(deps.db, { afterSeq: lastSeq, sessionId: s.sessionId, limit: 500 });
    for (const e of batch) deliver(e);
    if (batch.length < 500) break;
  }
  live = true;
  for (const e of early.splice(0)) deliver(e);
}
