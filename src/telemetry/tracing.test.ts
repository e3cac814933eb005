// The provider around the spans: endpoint URLs, off by default, failed exports logged but never thrown.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../config/schema";
import { EventBus, event } from "../core/events";
import { TurnStarted, UsageRecorded } from "../session";
import { createTelemetry, tracesUrl } from "./tracing";

describe("tracesUrl", () => {
  it.each([
    ["http://collector:4318", "http://collector:4318/v1/traces"],
    ["http://collector:4318/", "http://collector:4318/v1/traces"],
    ["https://otel.example.com/v1/traces", "https://otel.example.com/v1/traces"],
    ["https://otel.example.com/custom/path", "https://otel.example.com/custom/path"],
  ])("%s -> %s", (endpoint, url) => {
    expect(tracesUrl(endpoint)).toBe(url);
  });
});

describe("createTelemetry", () => {
  const config = (telemetry: Record<string, unknown>) => ConfigSchema.parse({ telemetry }).telemetry;

  it("is off by default", () => {
    const bus = new EventBus();
    expect(createTelemetry(config({}), { bus, logger: pino({ level: "silent" }) })).toBeUndefined();
    expect(bus.size).toBe(0);
  });

  it("logs failed exports (without the configured headers) and still shuts down", async () => {
    // A collector that refuses every export (400 is not retried).
    const collector = createServer((_req, res) => res.writeHead(400).end("bad"));
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    const { port } = collector.address() as AddressInfo;

    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => lines.push(l) });
    const bus = new EventBus();
    const telemetry = createTelemetry(
      config({ enabled: true, endpoint: `http://127.0.0.1:${port}`, headers: { authorization: "Bearer hunter2" } }),
      { bus, logger },
    );
    const at = new Date().toISOString();
    const publish = (p: ReturnType<typeof event>, seq: number) =>
      bus.publish([{ seq, id: `evt_${seq}`, type: p.type, sessionId: "ses_1", time: at, data: p.data }]);
    publish(event(TurnStarted, "ses_1", { turnId: "trn_1", itemId: "tri_1" }), 1);
    publish(
      event(UsageRecorded, "ses_1", {
        turnId: "trn_1",
        inputTokens: 1,
        outputTokens: 1,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0,
      }),
      2,
    );
    await new Promise((r) => setTimeout(r, 0));
    // Shutting down flushes; a failed export is logged, never thrown at the closing app.
    await telemetry?.shutdown();
    collector.closeAllConnections();
    await new Promise((r) => collector.close(r));
    expect(lines.join("")).toContain("could not export spans");
    expect(lines.join("")).not.toContain("hunter2");
    expect(bus.size).toBe(0);
  });
});
