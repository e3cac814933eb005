import { describe, expect, it } from "vitest";
import { rateLimitHeaders, UsageMeter } from "./meter";

const sse = (events: Array<[string, unknown]>) =>
  events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");

function feedInPieces(meter: UsageMeter, text: string, size: number) {
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += size) meter.feed(bytes.subarray(i, i + size));
}

describe("usage meter", () => {
  const stream = sse([
    [
      "message_start",
      {
        type: "message_start",
        message: {
          model: "claude-opus-5-5",
          usage: {
            input_tokens: 120,
            output_tokens: 1,
            cache_read_input_tokens: 7,
            cache_creation_input_tokens: 30,
            cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 20 },
          },
        },
      },
    ],
    ["ping", { type: "ping" }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "héllo ✓" } }],
    ["message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 42 } }],
    ["message_stop", { type: "message_stop" }],
  ]);

  it.each([1, 3, 17, 4096])("reads final usage from a stream split every %i bytes", (size) => {
    let t = 0;
    const meter = new UsageMeter("text/event-stream; charset=utf-8", () => ++t);
    feedInPieces(meter, stream, size);
    expect(meter.finish()).toEqual({
      inputTokens: 120,
      outputTokens: 42,
      cacheReadTokens: 7,
      cacheWriteTokens: 30,
      cacheWrite1hTokens: 20,
    });
    expect(meter.model).toBe("claude-opus-5-5");
    expect(meter.firstTokenAt).not.toBeNull();
    expect(meter.errorType).toBeNull();
  });

  it("reads the same usage from events without names (each one's data is parsed then)", () => {
    let t = 0;
    const meter = new UsageMeter("text/event-stream", () => ++t);
    meter.feed(Buffer.from(stream.replace(/^event: .*\n/gm, "")));
    expect(meter.finish()).toMatchObject({ inputTokens: 120, outputTokens: 42, cacheWrite1hTokens: 20 });
    expect(meter.firstTokenAt).toBe(1);
  });

  it("reads a stream's chunks after they are passed on, stamped with when they arrived", async () => {
    let t = 100;
    const meter = new UsageMeter("text/event-stream", () => t);
    meter.feed(Buffer.from(stream.slice(0, stream.indexOf("event: message_delta"))));
    t = 200;
    meter.feed(Buffer.from(stream.slice(stream.indexOf("event: message_delta"))));
    t = 300;
    await Promise.resolve();
    // Read once the microtasks ran; the delta came with the first batch of chunks, at 100.
    expect(meter.firstTokenAt).toBe(100);
    expect(meter.finish()).toMatchObject({ inputTokens: 120, outputTokens: 42 });
  });

  it("notes an error event inside a stream", () => {
    const meter = new UsageMeter("text/event-stream", () => 1);
    meter.feed(Buffer.from(sse([["error", { type: "error", error: { type: "overloaded_error", message: "x" } }]])));
    expect(meter.errorType).toBe("overloaded_error");
  });

  it("reads a non-streamed JSON message and an error body", () => {
    const ok = new UsageMeter("application/json", () => 5);
    ok.feed(Buffer.from(JSON.stringify({ type: "message", model: "m", usage: { input_tokens: 3, output_tokens: 4 } })));
    expect(ok.finish()).toMatchObject({ inputTokens: 3, outputTokens: 4 });
    expect(ok.firstTokenAt).toBe(5);
    const err = new UsageMeter("application/json", () => 5);
    err.feed(Buffer.from(JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: "slow" } })));
    err.finish();
    expect(err.errorType).toBe("rate_limit_error");
  });

  it("keeps only rate-limit headers", () => {
    expect(
      rateLimitHeaders({
        "anthropic-ratelimit-requests-remaining": "9",
        "Retry-After": "3",
        "content-type": "text/event-stream",
      }),
    ).toEqual({ "anthropic-ratelimit-requests-remaining": "9", "retry-after": "3" });
    expect(rateLimitHeaders({ "content-type": "x" })).toBeNull();
  });
});
