// /gateway/*: the model gateway's HTTP face, served beside Fastify on the same port. A session's Claude
// Code authenticates with its gateway token; bodies pass through as bytes, answers stream back
// unbuffered. Every model request of every turn comes through here, so it skips Fastify's request
// pipeline (routing, hooks, reply objects: ~0.1 ms a request): nothing of it applies to a byte relay
// that answers in the Anthropic error shape and adds no browser security headers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuditEntry } from "../../core/audit";
import { type AppError, isAppError } from "../../core/errors";
import { FixedWindowCounter } from "../../core/fixed-window";
import type { Logger } from "../../core/log";
import { anthropicErrorBody, ForwardedBody, GatewayErrors, type ModelGateway } from "../../gateway";

/** The Messages API's own request size limit. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Where the gateway is mounted, and the route label its requests carry in metrics and spans. */
export const GATEWAY_PREFIX = "/gateway/";
export const GATEWAY_ROUTE = "/gateway/*";

function credentialOf(headers: IncomingMessage["headers"]): string | undefined {
  const key = headers["x-api-key"];
  if (typeof key === "string" && key !== "") return key;
  const auth = headers.authorization;
  const m = typeof auth === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return m?.[1];
}

/** Whether the request carries a body to forward (never for GET and HEAD, as Fastify would have it). */
const hasBody = (req: IncomingMessage) =>
  req.method !== "GET" &&
  req.method !== "HEAD" &&
  (req.headers["transfer-encoding"] !== undefined ||
    (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0"));

/** The client address as the API's auth sees it (no proxy is trusted). */
const ipOf = (req: IncomingMessage) => req.socket.remoteAddress ?? "unknown";

export interface GatewayHandlerOptions {
  gateway: ModelGateway;
  /** Bad tokens count against the client address like any failed authentication. */
  maxFailuresPerMinute: number;
  audit: (entry: AuditEntry) => Promise<void>;
  log: Logger;
  /** Called when each request's answer is over (HTTP metrics, spans). */
  observe?: (o: { method: string; statusCode: number; seconds: number }) => void;
  /** Starts a span for the request; the returned function ends it with the answer's status. */
  span?: (req: IncomingMessage) => ((statusCode: number) => void) | undefined;
}

/** `observed`: the caller (Fastify's fallback route) records metrics and spans itself. */
export type GatewayHandler = (req: IncomingMessage, res: ServerResponse, opts?: { observed?: boolean }) => void;

export function gatewayHandler(o: GatewayHandlerOptions): GatewayHandler {
  const failures = new FixedWindowCounter(60_000);

  /** Sends `err` in the Anthropic shape, unless the answer has already begun (then it is cut off). */
  const refuse = (req: IncomingMessage, res: ServerResponse, err: AppError, extra: Record<string, string> = {}) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(anthropicErrorBody(err));
    res.writeHead(err.status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      "x-should-retry": err.status >= 500 ? "true" : "false",
      // A body left half read (too large, or its forwarding cut short) leaves the connection unable
      // to carry another request; one never started is drained by Node and the connection kept.
      ...(err.code === GatewayErrors.bodyTooLarge.code || (!req.complete && req.readableFlowing !== null)
        ? { connection: "close" }
        : {}),
      ...extra,
    });
    res.end(body);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, abort: AbortController) => {
    // A body declared too large is refused before any of it is read; one that runs over while it
    // streams is cut off on the way (ForwardedBody).
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES)
      return refuse(req, res, GatewayErrors.bodyTooLarge());
    const ip = ipOf(req);
    const credential = credentialOf(req.headers);
    // Every local Claude Code shares one address: a repository whose settings hand its session a
    // wrong key must not lock the others out. A live token always passes; other tokens past the
    // limit get 429, unaudited. (The lockout no longer slows guessing; a 256-bit token is not found
    // by guessing, lockout or not: it keeps a misbehaving client from filling the audit trail.)
    const gate = failures.read(ip);
    if (gate.count > o.maxFailuresPerMinute && !o.gateway.tokens.verify(credential))
      return refuse(req, res, GatewayErrors.tooManyFailures(), { "retry-after": String(gate.resetsInSeconds) });
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = (q < 0 ? url : url.slice(0, q)).slice(GATEWAY_PREFIX.length - 1);
    const method = req.method ?? "GET";
    let answer: Awaited<ReturnType<ModelGateway["forward"]>>;
    try {
      answer = await o.gateway.forward({
        method,
        path,
        search: q < 0 ? "" : url.slice(q),
        headers: req.headers,
        body: new ForwardedBody(hasBody(req) ? req : undefined, MAX_BODY_BYTES),
        credential,
        signal: abort.signal,
      });
    } catch (err) {
      if (isAppError(err) && err.code === GatewayErrors.tokenInvalid.code) {
        failures.hit(ip);
        await o.audit({
          actor: { keyId: null, role: null, tenant: null, ip },
          action: "auth.failed",
          target: null,
          params: { reason: "invalid gateway token", method, path },
          outcome: "denied",
        });
      }
      throw err;
    }
    res.writeHead(answer.status, answer.headers);
    if (!answer.body) {
      res.end();
      return;
    }
    // pipe(), not pipeline(): it costs less per request, and each side's end is handled here. A client
    // that leaves aborts the upstream request (below); an upstream that breaks off cuts the answer
    // short, as the model API's own broken stream would. The gateway records either ending.
    const body = answer.body;
    body.once("error", (err) => {
      o.log.debug({ err: err.message }, "gateway stream ended early");
      res.destroy();
    });
    body.pipe(res);
  };

  return (req, res, opts) => {
    const started = performance.now();
    const observed = opts?.observed === true;
    const endSpan = observed ? undefined : o.span?.(req);
    const abort = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) abort.abort();
      if (observed) return;
      o.observe?.({
        method: req.method ?? "GET",
        statusCode: res.statusCode,
        seconds: (performance.now() - started) / 1000,
      });
      endSpan?.(res.statusCode);
    });
    serve(req, res, abort).catch((err: unknown) => {
      if (isAppError(err)) return refuse(req, res, err);
      o.log.error({ err }, "gateway request failed");
      if (res.headersSent) return void res.destroy();
      const body = JSON.stringify({
        type: "error",
        error: { type: "api_error", message: "Aegis model gateway: internal error; see the server log." },
      });
      res.writeHead(500, { "content-type": "application/json; charset=utf-8", "x-should-retry": "true" });
      res.end(body);
    });
  };
}
