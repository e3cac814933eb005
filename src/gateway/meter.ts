// Reads a Messages API answer on the side as it streams past: the model, usage by kind, the first
// token's arrival and any error, exactly as the model API reported them.
import { createParser, type EventSourceParser } from "eventsource-parser";
import type { MeteredUsage } from "./prices";

interface ApiUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: { ephemeral_1h_input_tokens?: number | null } | null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The named events whose data the meter needs. The Messages API names each event after its data's
 * type, so the deltas (nearly every event of an answer) are counted without parsing their JSON.
 */
const READ = new Set(["message_start", "message_delta", "error"]);

/** Non-streamed JSON bodies are read for usage up to this size; larger ones pass unread. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

export class UsageMeter {
  private modelSeen: string | null = null;
  private firstAt: number | null = null;
  private error: string | null = null;
  private readonly usage: MeteredUsage = {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
  };
  private readonly parser: EventSourceParser | null;
  private readonly decoder = new TextDecoder();
  private json: Buffer[] | null = null;
  private jsonBytes = 0;
  /** SSE chunks not read yet, and when the first of them arrived. */
  private pending: Buffer[] = [];
  private arrivedAt = 0;

  constructor(
    contentType: string,
    private readonly now: () => number,
  ) {
    const sse = contentType.includes("text/event-stream");
    this.parser = sse ? createParser({ onEvent: (e) => this.onEvent(e.event, e.data) }) : null;
    if (!sse && contentType.includes("json")) this.json = [];
  }

  /** The model the answer names. (Each reading takes in the chunks still unread.) */
  get model(): string | null {
    this.readPending();
    return this.modelSeen;
  }

  /** When the first content arrived (monotonic ms): the first text/tool delta, or a JSON body's first byte. */
  get firstTokenAt(): number | null {
    this.readPending();
    return this.firstAt;
  }

  /** The error type the answer reported, if any. */
  get errorType(): string | null {
    this.readPending();
    return this.error;
  }

  /**
   * Called with every chunk of the body, in order; never throws. A streamed answer is read just
   * after, with its arrival time: the relay's write to Claude Code, flushed on the next tick, then
   * usually goes out first (readings take in whatever is still unread, so timing never changes them).
   */
  feed(chunk: Buffer): void {
    if (this.parser) {
      if (this.pending.length === 0) {
        this.arrivedAt = this.now();
        queueMicrotask(() => this.readPending());
      }
      this.pending.push(chunk);
      return;
    }
    this.firstAt ??= this.now();
    if (this.json) {
      this.jsonBytes += chunk.length;
      if (this.jsonBytes > MAX_JSON_BYTES) this.json = null;
      else this.json.push(chunk);
    }
  }

  private readPending(): void {
    const chunks = this.pending;
    if (chunks.length === 0) return;
    this.pending = [];
    for (const c of chunks) this.parser?.feed(this.decoder.decode(c, { stream: true }));
  }

  /** Usage once the body has ended. */
  finish(): MeteredUsage {
    this.readPending();
    if (this.json) {
      try {
        const body: unknown = JSON.parse(Buffer.concat(this.json).toString("utf8"));
        if (isObj(body)) this.readMessage(body);
      } catch {
        // not JSON after all; nothing to meter
      }
      this.json = null;
    }
    return { ...this.usage };
  }

  private onEvent(name: string | undefined, data: string): void {
    if (name === "content_block_delta") {
      this.firstAt ??= this.arrivedAt;
      return;
    }
    // An event without a name is read whole, whatever it holds.
    if (name !== undefined && !READ.has(name)) return;
    let e: unknown;
    try {
      e = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObj(e)) return;
    switch (e.type) {
      case "message_start":
        if (isObj(e.message)) this.readMessage(e.message);
        return;
      case "content_block_delta":
        this.firstAt ??= this.arrivedAt;
        return;
      case "message_delta":
        // Counts here are cumulative and final; fields it leaves out keep message_start's values.
        if (isObj(e.usage)) this.applyUsage(e.usage as ApiUsage);
        return;
      case "error":
        this.error = isObj(e.error) && typeof e.error.type === "string" ? e.error.type : "error";
        return;
    }
  }

  private readMessage(m: Record<string, unknown>): void {
    if (typeof m.model === "string") this.modelSeen = m.model;
    if (m.type === "error") {
      this.error = isObj(m.error) && typeof m.error.type === "string" ? m.error.type : "error";
    }
    if (isObj(m.usage)) this.applyUsage(m.usage as ApiUsage);
  }

  private applyUsage(u: ApiUsage): void {
    const n = (v: number | null | undefined, prev: number) => (typeof v === "number" ? v : prev);
    this.usage.inputTokens = n(u.input_tokens, this.usage.inputTokens);
    this.usage.outputTokens = n(u.output_tokens, this.usage.outputTokens);
    this.usage.cacheReadTokens = n(u.cache_read_input_tokens, this.usage.cacheReadTokens);
    this.usage.cacheWriteTokens = n(u.cache_creation_input_tokens, this.usage.cacheWriteTokens);
    if (isObj(u.cache_creation))
      this.usage.cacheWrite1hTokens = n(u.cache_creation.ephemeral_1h_input_tokens, this.usage.cacheWrite1hTokens);
  }
}

/** The `anthropic-ratelimit-*` and `retry-after` headers of an answer, or null when it had none. */
export function rateLimitHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (v === undefined || !(name.startsWith("anthropic-ratelimit-") || name === "retry-after")) continue;
    out[name] = Array.isArray(v) ? v.join(", ") : v;
  }
  return Object.keys(out).length > 0 ? out : null;
}
