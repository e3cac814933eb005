// The Fastify application: docs, error handling, and the /v1 API with zod validation.
import type { IncomingMessage, ServerResponse } from "node:http";
import cors from "@fastify/cors";
import fastifySwagger from "@fastify/swagger";
import scalar from "@scalar/fastify-api-reference";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { Logger } from "../core/log";
import { type AuthPluginDeps, type RouteAccess, registerAuth } from "./auth";
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from "./errors";
import { registerJsonParser } from "./json";
import { analyticsRoutes } from "./routes/analytics";
import { approvalRoutes } from "./routes/approvals";
import { auditRoutes } from "./routes/audit";
import { authRoutes } from "./routes/auth";
import type { RouteDeps } from "./routes/deps";
import { eventRoutes } from "./routes/events";
import { GATEWAY_PREFIX, GATEWAY_ROUTE, type GatewayHandler, gatewayHandler } from "./routes/gateway";
import { healthRoutes } from "./routes/health";
import { hookRoutes } from "./routes/hooks";
import { metricsRoutes } from "./routes/metrics";
import { policyRoutes } from "./routes/policies";
import { sessionControlRoutes } from "./routes/session-control";
import { sessionHistoryRoutes } from "./routes/session-history";
import { sessionRoutes } from "./routes/sessions";
import { registerSecurityHeaders } from "./security-headers";

export const API_VERSION = "0.1.0";

declare module "fastify" {
  interface FastifyInstance {
    /** Every route with the permission it needs (for the authorization matrix test). */
    routeAccess: RouteAccess[];
  }
}

export interface HttpDeps extends RouteDeps {
  logger: Logger;
  bodyLimit: number;
  corsOrigins: string[];
  authPlugin: Omit<AuthPluginDeps, "auth" | "sseTokens">;
  /** HTTP server spans (telemetry on); registered before anything else so every route is traced. */
  tracing?: FastifyPluginAsync | undefined;
  /** The same spans for requests served outside Fastify (the model gateway's). */
  requestSpan?: ((req: IncomingMessage, route: string) => (statusCode: number) => void) | undefined;
}

/**
 * Model gateway requests skip Fastify on the server it listens with: its one request listener is
 * swapped for one that serves /gateway/* first. (Fastify's own server, not a serverFactory: with a
 * factory it no longer binds every address `localhost` resolves to.) Requests that reach Fastify some
 * other way (a second address bound for `localhost`, inject()) take the fallback route below.
 */
function serveGatewayFirst(app: FastifyInstance, gateway: GatewayHandler): void {
  const [fastify, ...others] = app.server.listeners("request") as Array<
    (req: IncomingMessage, res: ServerResponse) => void
  >;
  if (!fastify || others.length > 0) throw new Error("expected Fastify's server to have one request listener");
  app.server.removeListener("request", fastify);
  app.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith(GATEWAY_PREFIX)) gateway(req, res);
    else fastify(req, res);
  });
}

export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const gateway = deps.gateway
    ? gatewayHandler({
        gateway: deps.gateway,
        maxFailuresPerMinute: deps.authPlugin.maxFailuresPerMinute,
        audit: deps.authPlugin.audit,
        log: deps.logger.child({ module: "gateway" }),
        observe: (o) => deps.metrics.observeHttp({ ...o, route: GATEWAY_ROUTE }),
        span: deps.requestSpan ? (req) => deps.requestSpan?.(req, GATEWAY_ROUTE) : undefined,
      })
    : null;
  const app = Fastify({
    loggerInstance: deps.logger.child({ module: "http" }) as FastifyBaseLogger,
    bodyLimit: deps.bodyLimit,
    return503OnClosing: true,
    // A request (headers and body) must arrive within a minute: a half-sent body cannot hold a socket.
    requestTimeout: 60_000,
    clientErrorHandler,
    frameworkErrors,
  });
  if (deps.tracing) await app.register(deps.tracing);
  registerErrorHandling(app);
  // JSON only: a text/plain body would otherwise reach the handlers as a string.
  app.removeContentTypeParser("text/plain");
  registerJsonParser(app);
  app.addHook("preClose", async () => deps.sse.hub.closeAll());
  app.addHook("onResponse", async (req, reply) => {
    // Event streams (the only routes taking sse_token) last as long as the client stays; not latency.
    if (req.routeOptions.config?.sseToken) return;
    deps.metrics.observeHttp({
      method: req.method,
      route: req.routeOptions.url,
      statusCode: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
  });
  registerSecurityHeaders(app);
  if (deps.corsOrigins.length > 0) await app.register(cors, { origin: deps.corsOrigins });
  const routeAccess = registerAuth(app, { ...deps.authPlugin, auth: deps.auth, sseTokens: deps.sseTokens });
  app.decorate("routeAccess", routeAccess);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Aegis API",
        version: API_VERSION,
        description: "Control plane for Claude Code sessions: start, stream, approve, audit.",
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(async (docs) => {
    // The API reference is documentation, readable without a key.
    docs.addHook("onRoute", (route) => {
      route.config = { ...(route.config ?? {}), public: true };
    });
    await docs.register(scalar, { routePrefix: "/docs", configuration: { url: "/v1/openapi.json" } });
  });

  await app.register(
    async (api) => {
      // The zod compilers stay inside this plugin so non-zod plugins keep their own.
      api.setValidatorCompiler(validatorCompiler);
      api.setSerializerCompiler(serializerCompiler);
      const z = api.withTypeProvider<ZodTypeProvider>();
      api.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
      await z.register(healthRoutes, deps);
      await z.register(authRoutes, deps);
      await z.register(auditRoutes, deps);
      await z.register(sessionRoutes, deps);
      await z.register(sessionControlRoutes, deps);
      await z.register(approvalRoutes, deps);
      await z.register(hookRoutes, deps);
      await z.register(policyRoutes, deps);
      await z.register(sessionHistoryRoutes, deps);
      await z.register(eventRoutes, deps);
      await z.register(analyticsRoutes, deps);
    },
    { prefix: "/v1" },
  );
  if (gateway) {
    serveGatewayFirst(app, gateway);
    await app.register(
      async (gw) => {
        // Bodies are not read here: the gateway streams them upstream as they arrive.
        gw.removeAllContentTypeParsers();
        gw.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
        // Public to the API's keys (a session's gateway token is checked by the gateway); the model
        // API's answers carry no browser security headers. Fastify's hooks count and trace it here.
        gw.all("/*", { config: { public: true, securityHeaders: false }, schema: { hide: true } }, (req, reply) => {
          reply.hijack();
          gateway(req.raw, reply.raw, { observed: true });
        });
      },
      { prefix: GATEWAY_PREFIX.slice(0, -1) },
    );
  }
  await app.register(async (root) => {
    root.setValidatorCompiler(validatorCompiler);
    root.setSerializerCompiler(serializerCompiler);
    await root.withTypeProvider<ZodTypeProvider>().register(metricsRoutes, deps);
  });
  return app;
}
