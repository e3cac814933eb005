// W3C trace context (`traceparent`) for a span context, and back: how work that outlives a request
// (a turn) joins the trace of the request that started it.
import { isSpanContextValid, type SpanContext } from "@opentelemetry/api";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function formatTraceparent(sc: SpanContext): string | undefined {
  if (!isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, "0")}`;
}

/** The remote span context a `traceparent` names, or undefined when it is malformed or all zeros. */
export function parseTraceparent(value: string | null | undefined): SpanContext | undefined {
  const m = value ? TRACEPARENT.exec(value) : null;
  if (!m) return undefined;
  const sc: SpanContext = {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: Number.parseInt(m[3] as string, 16),
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}
