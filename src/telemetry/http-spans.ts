// HTTP server spans through the Fastify team's @fastify/otel, bound to this app's tracer provider.

import type { IncomingMessage } from "node:http";
import { FastifyOtelInstrumentation } from "@fastify/otel";
import { context, propagation, SpanKind, SpanStatusCode, type TracerProvider } from "@opentelemetry/api";
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from "@opentelemetry/semantic-conventions";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * A root-level plugin (register it before any route). The instrumentation takes the provider
 * through setTracerProvider, so nothing is registered globally and two servers can share a process.
 */
export function httpSpansPlugin(provider: TracerProvider) {
  const instrumentation = new FastifyOtelInstrumentation({
    // A span per request and per handler; hook spans would triple the volume for little insight.
    instrumentHooks: false,
    requestHook: (span, request) => {
      const route = request.routeOptions.url;
      span.updateName(route ? `${request.method} ${route}` : request.method);
      // The query string can carry credentials (?sse_token=); the path alone is exported.
      span.setAttribute(ATTR_URL_PATH, request.url.split("?")[0] ?? "/");
    },
  });
  instrumentation.setTracerProvider(provider);

  async function plugin(app: FastifyInstance) {
    await app.register(instrumentation.plugin());
    app.addHook("onRequest", endWithResponse);
  }
  // Like fastify-plugin: the hooks apply to the whole server, not an encapsulated child.
  return Object.assign(plugin, { [Symbol.for("skip-override")]: true });
}

/** Hijacked replies (SSE streams) skip onSend, where the request span normally ends. */
function endWithResponse(request: FastifyRequest, reply: FastifyReply, done: () => void) {
  const { span } = request.opentelemetry();
  if (span) {
    reply.raw.once("close", () => {
      if (!span.isRecording()) return;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.raw.statusCode);
      span.end();
    });
  }
  done();
}

/**
 * The span @fastify/otel would make, for a request served outside Fastify (the model gateway's):
 * named by method and route, the path without its query, the caller's trace continued. The returned
 * function ends it with the answer's status.
 */
export function requestSpans(provider: TracerProvider) {
  const tracer = provider.getTracer("aegis-http");
  return (req: IncomingMessage, route: string) => {
    const method = req.method ?? "GET";
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(
      `${method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_HTTP_ROUTE]: route,
          [ATTR_URL_PATH]: (req.url ?? "/").split("?")[0] ?? "/",
        },
      },
      parent,
    );
    return (statusCode: number) => {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
      if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
  };
}
