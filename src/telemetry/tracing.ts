// The tracer provider of one app instance: OTLP/HTTP export, ratio sampling, no global registration.
import { propagation } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Config } from "../config/schema";
import type { EventBus } from "../core/events";
import type { Logger } from "../core/log";
import { httpSpansPlugin, requestSpans } from "./http-spans";
import { TurnTracer } from "./turn-spans";

export type TelemetryConfig = Config["telemetry"];

/** A bare collector origin (http://collector:4318) gets the standard traces path. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === "/") url.pathname = "/v1/traces";
  return url.toString();
}

/** Export failures go to the app's log (never the headers, which may hold credentials). */
function loggingExporter(inner: SpanExporter, log: Logger, url: string): SpanExporter {
  return {
    export(spans: ReadableSpan[], done) {
      inner.export(spans, (result) => {
        if (result.error) {
          log.warn({ err: result.error, url, spans: spans.length }, "could not export spans to the OTLP endpoint");
        }
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

export interface Telemetry {
  /** Registers HTTP server spans; give it to the Fastify app before any route. */
  readonly httpPlugin: ReturnType<typeof httpSpansPlugin>;
  /** The same spans for requests served outside Fastify (the model gateway's). */
  readonly requestSpan: ReturnType<typeof requestSpans>;
  /** Exports every finished span now. */
  flush(): Promise<void>;
  /** Ends open turn spans, exports what is left and stops. */
  shutdown(): Promise<void>;
}

/** Tracing for one app; undefined when telemetry is off (the default), so nothing is exported. */
export function createTelemetry(cfg: TelemetryConfig, deps: { bus: EventBus; logger: Logger }): Telemetry | undefined {
  if (!cfg.enabled) return undefined;
  const log = deps.logger.child({ module: "telemetry" });
  const url = tracesUrl(cfg.endpoint);
  const exporter = loggingExporter(new OTLPTraceExporter({ url, headers: cfg.headers }), log, url);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: cfg.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(cfg.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  // Incoming `traceparent` headers make request spans (and the turns they start) part of the
  // caller's trace. The propagator is stateless, so setting it process-wide is harmless.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const turns = new TurnTracer(provider.getTracer("aegis"), log);
  turns.attach(deps.bus);
  log.info({ url, sampleRatio: cfg.sampleRatio }, "exporting traces over OTLP/HTTP");
  let stopped: Promise<void> | undefined;
  return {
    httpPlugin: httpSpansPlugin(provider),
    requestSpan: requestSpans(provider),
    flush: () => provider.forceFlush(),
    shutdown() {
      stopped ??= (async () => {
        turns.close();
        // The exporter already logged why; a collector that is down must not stop the server closing.
        await provider.shutdown().catch((err) => log.debug({ err }, "spans left unexported at shutdown"));
      })();
      return stopped;
    },
  };
}
