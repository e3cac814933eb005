// HTTP server spans through the Fastify team's @fastify/otel, bound to this app's tracer provider.
import { FastifyOtelInstrumentation } from "@fastify/otel";
import type { TracerProvider } from "@opentelemetry/api";
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_PATH } from "@opentelemetry/semantic-conventions";
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
