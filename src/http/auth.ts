// Authentication, authorisation and request limits for every route. Each route names one
// permission (config.permission) or is explicitly public; a route with neither cannot register.
import type { Span } from "@opentelemetry/api";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  AuthErrors,
  type AuthService,
  type Caller,
  hasPermission,
  type Permission,
  type Principal,
  type SseTokens,
} from "../auth";
import type { AuditEntry } from "../core/audit";
import type { AppError } from "../core/errors";
import { FixedWindowCounter } from "../core/fixed-window";
import type { Installation } from "../hooks";
import { formatTraceparent } from "../telemetry/traceparent";

declare module "fastify" {
  interface FastifyRequest {
    caller: Caller | null;
    /** Set on hook routes once the installation's secret checked out. */
    hookInstallation: Installation | null;
  }
  interface FastifyContextConfig {
    /** The permission a caller needs; see src/auth/permissions.ts. */
    permission?: Permission;
    /** Reachable without credentials. */
    public?: boolean;
    /** Accepts a single-use `sse_token` query parameter in place of the header. */
    sseToken?: boolean;
  }
}

/** Query parameters that look like credentials; keys never travel in URLs. */
const KEY_PARAMS = ["token", "api_key", "apikey", "access_token", "key", "auth", "authorization", "bearer"];

/** Used only when auth is off, which the server allows on loopback alone. */
const LOCAL_ADMIN: Principal = {
  keyId: "local",
  name: "local (auth disabled)",
  role: "admin",
  tenant: "default",
  scopes: null,
  rateLimitPerMinute: null,
  via: "api_key",
};

export interface AuthPluginDeps {
  enabled: boolean;
  auth: AuthService;
  sseTokens: SseTokens;
  maxFailuresPerMinute: number;
  requestsPerMinute: number;
  /** Writes one audit record in its own transaction. */
  audit: (entry: AuditEntry) => Promise<void>;
}

function fail(reply: FastifyReply, err: AppError, retryAfter?: number) {
  if (retryAfter !== undefined) void reply.header("retry-after", String(Math.max(1, retryAfter)));
  return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
}

export interface RouteAccess {
  method: string;
  url: string;
  permission: Permission | null;
  public: boolean;
  sseToken: boolean;
}

/** Installs the auth hook; returns the access table of every route registered afterwards. */
export function registerAuth(app: FastifyInstance, deps: AuthPluginDeps): RouteAccess[] {
  const table: RouteAccess[] = [];
  app.decorateRequest("caller", null);
  app.decorateRequest("hookInstallation", null);
  app.addHook("onRoute", (route) => {
    const config = (route.config ?? {}) as { permission?: Permission; public?: boolean; sseToken?: boolean };
    if (route.url.startsWith("/v1") && !config.public && !config.permission) {
      throw new Error(`route ${route.method} ${route.url} declares neither a permission nor public: true`);
    }
    // Read when asked: a plugin's own onRoute hook (the docs marking its pages public) runs after this one.
    const now = () => (route.config ?? {}) as typeof config;
    for (const method of [route.method].flat()) {
      if (method === "HEAD") continue;
      table.push({
        method,
        url: route.url,
        get permission() {
          return now().permission ?? null;
        },
        get public() {
          return now().public === true;
        },
        get sseToken() {
          return now().sseToken === true;
        },
      });
    }
  });

  // Fixed one-minute windows, counted synchronously on every request: failed authentications per
  // address, requests per key (or per address without one).
  const failures = new FixedWindowCounter(60_000);
  const requests = new FixedWindowCounter(60_000);

  const refuse = async (req: FastifyRequest, reply: FastifyReply, err: AppError, reason: string) => {
    failures.hit(req.ip);
    await deps.audit({
      actor: { keyId: null, role: null, tenant: null, ip: req.ip },
      action: "auth.failed",
      target: null,
      params: { reason, method: req.method, path: req.url.split("?")[0] },
      outcome: "denied",
    });
    return fail(reply, err);
  };

  app.addHook("onRequest", async (req, reply) => {
    const route = req.routeOptions;
    const config = route.config ?? {};
    if (config.public) return;
    const query = (req.query ?? {}) as Record<string, unknown>;
    const leaked = Object.keys(query).find((k) => KEY_PARAMS.includes(k.toLowerCase()));
    if (leaked) return fail(reply, AuthErrors.keyInQuery({ details: { parameter: leaked } }));

    if (!deps.enabled) {
      req.caller = { principal: LOCAL_ADMIN, ip: req.ip };
    } else {
      // Past the failure limit a live credential still passes, as at the gateway and the hook
      // endpoint: one client's bad keys must not lock out everyone behind the same address (a proxy,
      // NAT, or every local client). Anything else gets 429, unaudited.
      const gate = failures.read(req.ip);
      const deny = (err: AppError, reason: string) =>
        gate.count > deps.maxFailuresPerMinute
          ? fail(reply, AuthErrors.tooManyFailures(), gate.resetsInSeconds)
          : refuse(req, reply, err, reason);
      let principal: Principal | undefined;
      const sseToken = typeof query.sse_token === "string" ? query.sse_token : undefined;
      const header = req.headers.authorization;
      if (sseToken !== undefined && config.sseToken) {
        principal = await deps.sseTokens.consume(sseToken);
        if (!principal) return deny(AuthErrors.sseTokenInvalid(), "sse_token invalid");
      } else if (sseToken !== undefined) {
        return fail(reply, AuthErrors.keyInQuery({ message: "sse_token is accepted only by event streams." }));
      } else if (header) {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
        principal = m?.[1] ? await deps.auth.authenticate(m[1]) : undefined;
        if (!principal)
          return m
            ? deny(AuthErrors.invalid(), "invalid key")
            : deny(
                AuthErrors.invalid({ message: "The Authorization header must read `Bearer <key>`." }),
                "malformed header",
              );
      } else {
        return deny(AuthErrors.missing(), "no credentials");
      }
      req.caller = { principal, ip: req.ip };
    }

    // No route matched: an authenticated caller gets the plain 404.
    if (route.url === undefined) return;
    const permission = config.permission;
    const caller = req.caller;
    if (!permission || !hasPermission(caller.principal.role, caller.principal.scopes, permission)) {
      await deps.audit({
        actor: {
          keyId: caller.principal.keyId,
          role: caller.principal.role,
          tenant: caller.principal.tenant,
          ip: req.ip,
        },
        action: "auth.denied",
        target: null,
        params: { permission: permission ?? null, method: req.method, path: req.url.split("?")[0] },
        outcome: "denied",
      });
      return fail(reply, AuthErrors.forbidden({ details: { needs: permission } }));
    }
    const limit = requests.hit(caller.principal.keyId ?? req.ip);
    if (limit.count > (caller.principal.rateLimitPerMinute ?? deps.requestsPerMinute))
      return fail(reply, AuthErrors.rateLimited(), limit.resetsInSeconds);
  });
  return table;
}

/** The caller of an authenticated route (the auth hook guarantees it). */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw new Error("route reached without an authenticated caller");
  const traceparent = traceparentOf(req);
  return traceparent ? { ...req.caller, traceparent } : req.caller;
}

/** The request span's trace context, when the tracing plugin (@fastify/otel) is registered. */
function traceparentOf(req: FastifyRequest): string | undefined {
  const span = (req as { opentelemetry?: () => { span?: Span } }).opentelemetry?.().span;
  return span ? formatTraceparent(span.spanContext()) : undefined;
}
