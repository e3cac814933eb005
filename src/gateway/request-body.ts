// A client's request body on its way to the model API: forwarded as it arrives (the upstream starts
// reading before the last byte is in), held to the size limit, and kept so that a request the model
// never answered can still be recorded with the model it asked for.
import { PassThrough, type Readable } from "node:stream";
import { GatewayErrors } from "./errors";

export class ForwardedBody {
  private readonly seen: Buffer[] = [];
  private bytes = 0;
  private relay: PassThrough | undefined;

  constructor(
    private readonly source: Readable | undefined,
    private readonly maxBytes: number,
  ) {}

  /** Whether the client sent a body at all. */
  get present(): boolean {
    return this.source !== undefined;
  }

  /**
   * The body as an upstream request takes it; it fails with GATEWAY_BODY_TOO_LARGE once past the
   * limit. A relay stands between, so that what the upstream side destroys is never the client's
   * request: its connection must stay up to carry the answer.
   */
  stream(): Readable {
    if (this.relay) return this.relay;
    const relay = new PassThrough();
    this.relay = relay;
    const source = this.source;
    if (!source) {
      relay.end();
      return relay;
    }
    const onData = (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.bytes <= this.maxBytes) {
        this.seen.push(chunk);
        return;
      }
      // Stop here; the rest is never read (the answer closes the connection).
      source.off("data", onData);
      source.unpipe(relay);
      source.pause();
      relay.destroy(GatewayErrors.bodyTooLarge());
    };
    source.on("data", onData);
    source.pipe(relay);
    return relay;
  }

  /** Reads the part nobody forwarded (a refused request), so the model it named is known. */
  async drain(): Promise<void> {
    const relay = this.stream();
    try {
      for await (const _ of relay) {
        // kept as it passes
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
