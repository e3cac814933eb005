// The one error handler: every failure leaves as { error: { code, message, details } }.
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from "fastify-type-provider-zod";
import { z } from "zod";
import { CoreErrors, isAppError } from "../core/errors";

export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe("Stable, machine-readable error code."),
      message: z.string().describe("What went wrong and what to do about it."),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .describe("Error");

/** Fastify's own errors that are the caller's to fix, with our codes for them. */
const FRAMEWORK_ERRORS: Record<string, { code: string; status: number; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: "BODY_TOO_LARGE",
    status: 413,
    message: "The request body is larger than the server accepts.",
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: "UNSUPPORTED_MEDIA_TYPE",
    status: 415,
    message: "Send JSON with Content-Type: application/json.",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "EMPTY_BODY", status: 400, message: "The body is empty; send a JSON object." },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "INVALID_JSON", status: 400, message: "The body is not valid JSON." },
  FST_ERR_BAD_URL: { code: "BAD_URL", status: 400, message: "The URL is not valid; check its encoding." },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: "URI_TOO_LONG",
    status: 414,
    message: "A path segment is too long; ids and names are at most 100 characters.",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: "INVALID_CONTENT_LENGTH",
    status: 400,
    message: "Content-Length does not match the body.",
  },
};

const send = (status: number, code: string, message: string, details?: Record<string, unknown>) => ({
  status,
  body: { error: { code, message, ...(details ? { details } : {}) } },
});

/** The body limit of the request's route, in bytes, when Fastify knows it. */
const bodyLimitOf = (req: FastifyRequest | undefined): number | undefined => {
  const limit = req?.routeOptions?.bodyLimit;
  return typeof limit === "number" && limit > 0 ? limit : undefined;
};

function mapError(err: FastifyError, req?: FastifyRequest) {
  if (isAppError(err)) return send(err.status, err.code, err.message, err.details);
  if (hasZodFastifySchemaValidationErrors(err)) {
    const issues = err.validation.map((v) => ({
      where: err.validationContext ?? "body",
      path: v.instancePath.replace(/^\//, "").replaceAll("/", ".") || "(root)",
      message: v.message ?? "invalid",
    }));
    const first = issues[0];
    const summary = first ? `${first.where} ${first.path}: ${first.message}` : "invalid input";
    return send(400, CoreErrors.validation.code, `Invalid request (${summary}).`, { issues });
  }
  const known = err.code ? FRAMEWORK_ERRORS[err.code] : undefined;
  if (known?.code === "BODY_TOO_LARGE") {
    const limit = bodyLimitOf(req);
    if (limit !== undefined)
      return send(known.status, known.code, `The request body is larger than this route accepts (${limit} bytes).`, {
        limitBytes: limit,
      });
  }
  if (known) return send(known.status, known.code, known.message);
  // Only a body the parser refused is the client's fault; a SyntaxError from anywhere else is ours (500).
  if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY") return send(400, "INVALID_JSON", "The body is not valid JSON.");
  if (!isResponseSerializationError(err) && err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return send(err.statusCode, err.code ?? "BAD_REQUEST", err.message);
  }
  return undefined;
}

/** For Fastify's `frameworkErrors` option: router-level errors get the same shape as the rest. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const mapped = mapError(err, req) ?? send(400, "BAD_REQUEST", err.message);
  void reply.code(mapped.status).send(mapped.body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const mapped = mapError(err, req);
    if (mapped) {
      if (mapped.status === 429 && !reply.getHeader("retry-after")) reply.header("retry-after", "1");
      return reply.code(mapped.status).send(mapped.body);
    }
    req.log.error({ err, reqId: req.id }, "unhandled error");
    return reply.code(500).send({
      error: {
        code: CoreErrors.internal.code,
        message: CoreErrors.internal.spec.message,
        details: { requestId: req.id },
      },
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: {
        code: CoreErrors.notFound.code,
        message: `${CoreErrors.notFound.spec.message} (${req.method} ${req.url.split("?")[0]})`,
      },
    }),
  );
}

/** Requests Node cannot parse (bad method, headers too large, too slow) get our error shape too. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "REQUEST_TIMEOUT", "The request did not arrive in time; send the whole request at once."]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "HEADERS_TOO_LARGE", "The request line or headers are too large; shorten the URL or headers."]
        : [400, "BAD_REQUEST", "The request is not valid HTTP; check the method, headers and Content-Length."];
  const body = JSON.stringify({ error: { code, message } });
  if (!socket.writable) return void socket.destroy(err);
  // end(), not destroy(): closing with the rest of the request unread would reset the connection
  // and could discard the answer before the client reads it.
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}
