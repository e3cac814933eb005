// A lean event-stream reader for the benches. It reads with undici's request() and a Node stream,
// without fetch() and web streams, which add a few tenths of a millisecond per turn that no server
// causes: the client's share of a measured turn stays what a latency-minded client's would be.
// A wait looks only at the events after a given sequence, never the whole history.
import { StringDecoder } from "node:string_decoder";
import { createParser } from "eventsource-parser";
import { request } from "undici";

export interface StreamEvent {
  /** The stored sequence (SSE `id`); undefined for events that carry none. */
  seq: number | undefined;
  event: string;
  data: any;
}

interface Waiter {
  after: number;
  pred: (e: StreamEvent) => boolean;
  resolve: (e: StreamEvent) => void;
  reject: (err: Error) => void;
}

export class EventStream {
  readonly events: StreamEvent[] = [];
  private waiters: Waiter[] = [];
  private readonly abort = new AbortController();
  private ended: Error | undefined;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.run(url, headers).then(
      () => this.end(new Error("the event stream ended")),
      (err: unknown) => this.end(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private async run(url: string, headers: Record<string, string>) {
    const res = await request(url, { headers: { accept: "text/event-stream", ...headers }, signal: this.abort.signal });
    if (res.statusCode !== 200) throw new Error(`event stream ${url}: HTTP ${res.statusCode} ${await res.body.text()}`);
    const parser = createParser({
      onEvent: (m) =>
        this.add({
          seq: m.id === undefined ? undefined : Number(m.id),
          event: m.event ?? "message",
          data: JSON.parse(m.data),
        }),
    });
    const text = new StringDecoder("utf8");
    for await (const chunk of res.body) parser.feed(text.write(chunk as Buffer));
  }

  private add(e: StreamEvent) {
    this.events.push(e);
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!((e.seq ?? 0) > w.after && w.pred(e))) return true;
      w.resolve(e);
      return false;
    });
  }

  private end(err: Error) {
    this.ended = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** The newest stored sequence received so far (0 before any). */
  get lastSeq(): number {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const seq = this.events[i]?.seq;
      if (seq !== undefined) return seq;
    }
    return 0;
  }

  /** The first event with a sequence above `after` that matches `pred`, received already or to come. */
  after(after: number, pred: (e: StreamEvent) => boolean, what: string, timeoutMs = 60_000): Promise<StreamEvent> {
    let i = this.events.length;
    while (i > 0 && ((this.events[i - 1] as StreamEvent).seq ?? Number.POSITIVE_INFINITY) > after) i--;
    for (; i < this.events.length; i++) {
      const e = this.events[i] as StreamEvent;
      if ((e.seq ?? 0) > after && pred(e)) return Promise.resolve(e);
    }
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out waiting for ${what}; last: ${this.events
              .slice(-5)
              .map((e) => e.event)
              .join(", ")}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        after,
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(new Error(`${what}: ${err.message}`));
        },
      };
      this.waiters.push(waiter);
    });
  }

  close() {
    this.abort.abort();
  }
}
