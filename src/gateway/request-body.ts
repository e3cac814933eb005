// A client's request body on its way to the model API: forwarded as it arrives (the upstream starts
// reading before the last byte is in), held to the size limit, and kept so that a request the model
// never answered can still be recorded with the model it asked for.
import { Readable } from "node:stream";
import { GatewayErrors } from "./errors";

export class ForwardedBody {
  private readonly seen: Buffer[] = [];
  private bytes = 0;
  private reading = false;

  constructor(
    private readonly source: Readable | undefined,
    private readonly maxBytes: number,
  ) {}

  /** Whether the client sent a body at all. */
  get present(): boolean {
    return this.source !== undefined;
  }

  /** The body as an upstream request takes it; fails with GATEWAY_BODY_TOO_LARGE once it passes the limit. */
  stream(): Readable {
    return Readable.from(this.chunks(), { objectMode: false });
  }

  private async *chunks(): AsyncGenerator<Buffer> {
    if (!this.source || this.reading) return;
    this.reading = true;
    const source = this.source;
    // Not destroyed when forwarding stops early: the connection must stay up to carry the answer
    // (which closes it: the rest of the body is never read).
    for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      this.bytes += chunk.length;
      if (this.bytes > this.maxBytes) throw GatewayErrors.bodyTooLarge();
      this.seen.push(chunk);
      yield chunk;
    }
  }

  /** Reads the part nobody forwarded (a refused request), so the model it named is known. */
  async drain(): Promise<void> {
    try {
      for await (const _ of this.chunks()) {
        // kept by chunks()
      }
    } catch {
      // too large or cut off: what arrived is enough to look for the model
    }
  }

  /** The `model` the body names, from what has arrived; null when it is not (yet) readable JSON. */
  model(): string | null {
    if (this.seen.length === 0) return null;
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(this.seen).toString("utf8"));
      const model = (parsed as { model?: unknown } | null)?.model;
      return typeof model === "string" ? model : null;
    } catch {
      return null;
    }
  }
}
