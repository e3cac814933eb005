// /gateway/*: the model gateway's HTTP face. Public to the API's auth (a session's Claude Code
// authenticates with its gateway token); bodies pass through as bytes, answers stream back unbuffered.
import { Readable } from "node:stream";
import type {} from "@fastify/rate-limit";
import type { FastifyError, FastifyPluginAsync } from "fastify";
import type { AuditEntry } from "../../core/audit";
import { isAppError } from "../../core/errors";
import { anthropicErrorBody, ForwardedBody, GatewayErrors, type ModelGateway } from "../../gateway";

/** The Messages API's own request size limit. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

function credentialOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const key = headers["x-api-key"];
  if (typeof key === "string" && key !== "") return key;
  const auth = headers.authorization;
  const m = typeof auth === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return m?.[1];
}

export interface GatewayRouteOptions {
  gateway: ModelGateway;
  /** Bad tokens count against the client address like any failed authentication. */
  maxFailuresPerMinute: number;
  audit: (entry: AuditEntry) => Promise<void>;
}

export const gatewayRoutes: FastifyPluginAsync<GatewayRouteOptions> = async (
  app,
  { gateway, maxFailuresPerMinute, audit },
) => {
  const failures = app.createRateLimit({
    max: maxFailuresPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => req.ip,
  });
  // Bodies are not read here: the gateway streams them upstream as they arrive (ForwardedBody).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
  // Claude Code reads errors in the Anthropic shape.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = isAppError(err) ? err : undefined;
    // Fastify's own 4xx (a method or content type it cannot take) stays a 4xx, in the Anthropic shape.
    const clientFault = !known && typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500;
    if (!known && !clientFault) req.log.error({ err }, "gateway request failed");
    const status = known?.status ?? (clientFault ? (err.statusCode as number) : 500);
    const body = known
      ? anthropicErrorBody(known)
      : clientFault
        ? { type: "error", error: { type: "invalid_request_error", message: `Aegis model gateway: ${err.message}` } }
        : {
            type: "error",
            error: { type: "api_error", message: "Aegis model gateway: internal error; see the server log." },
          };
    // A body refused as too large is not read to its end: the connection cannot carry another request.
    if (known?.code === GatewayErrors.bodyTooLarge.code) void reply.header("connection", "close");
    return reply
      .code(status)
      .header("x-should-retry", status >= 500 ? "true" : "false")
      .send(body);
  });

  // Security headers are for browsers; Claude Code reads the model API's own headers, untouched.
  app.all("/*", { config: { public: true, securityHeaders: false }, schema: { hide: true } }, async (req, reply) => {
    const abort = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    // A body declared too large is refused before any of it is read; one that runs over while it
    // streams is cut off on the way (ForwardedBody).
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) throw GatewayErrors.bodyTooLarge();
    const url = req.raw.url ?? "";
    const q = url.indexOf("?");
    const path = (q < 0 ? url : url.slice(0, q)).replace(/^\/gateway/, "");
    const gate = await failures(req, { increment: false });
    if (!gate.isAllowed && gate.isExceeded) {
      void reply.header("retry-after", String(Math.max(1, gate.ttlInSeconds)));
      throw GatewayErrors.tooManyFailures();
    }
    const answer = await gateway
      .forward({
        method: req.method,
        path,
        search: q < 0 ? "" : url.slice(q),
        headers: req.headers,
        body: new ForwardedBody(req.body instanceof Readable ? req.body : undefined, MAX_BODY_BYTES),
        credential: credentialOf(req.headers),
        signal: abort.signal,
      })
      .catch(async (err: unknown) => {
        if (isAppError(err) && err.code === GatewayErrors.tokenInvalid.code) {
          await failures(req);
          await audit({
            actor: { keyId: null, role: null, tenant: null, ip: req.ip },
            action: "auth.failed",
            target: null,
            params: { reason: "invalid gateway token", method: req.method, path },
            outcome: "denied",
          });
        }
        throw err;
      });
    reply.hijack();
    reply.raw.writeHead(answer.status, answer.headers);
    if (!answer.body) {
      reply.raw.end();
      return;
    }
    // pipe(), not pipeline(): it costs less per request, and each side's end is handled here. A client
    // that leaves aborts the upstream request (above); an upstream that breaks off cuts the answer
    // short, as the model API's own broken stream would. The gateway records either ending.
    const body = answer.body;
    body.once("error", (err) => {
      req.log.debug({ err: err.message }, "gateway stream ended early");
      reply.raw.destroy();
    });
    body.pipe(reply.raw);
  });
};
