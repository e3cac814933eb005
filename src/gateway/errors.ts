// Gateway errors. They leave in the Anthropic error shape ({ type: "error", error: { type, message } })
// because Claude Code reads them; the code is kept in the message's stable prefix.
import { type AppError, defineError } from "../core/errors";

export const GatewayErrors = {
  tokenInvalid: defineError(
    "GATEWAY_TOKEN_INVALID",
    401,
    "This is not a live Aegis session's gateway token. The gateway serves only the Claude Code processes Aegis starts; send requests to the model API directly, or through a session.",
  ),
  tooManyFailures: defineError(
    "TOO_MANY_AUTH_FAILURES",
    429,
    "Too many requests with bad gateway tokens from this address; wait for Retry-After seconds.",
  ),
  pathNotForwarded: defineError(
    "GATEWAY_PATH_NOT_FORWARDED",
    404,
    "The Aegis model gateway forwards only POST /v1/messages, POST /v1/messages/count_tokens and /api/hello.",
  ),
  budgetExceeded: defineError(
    "BUDGET_EXCEEDED",
    402,
    "An Aegis budget is used up; raise it under budgets in the Aegis config or wait for its window to reset.",
  ),
  upstreamUnreachable: defineError(
    "GATEWAY_UPSTREAM_UNREACHABLE",
    502,
    "The Aegis model gateway could not reach the model API; check gateway.upstream.baseUrl and the network.",
  ),
  bodyTooLarge: defineError("GATEWAY_BODY_TOO_LARGE", 413, "The request body is larger than the model API accepts."),
};

const ANTHROPIC_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  502: "api_error",
};

/** The body Anthropic's API would send for this error, so Claude Code reports it as it would theirs. */
export function anthropicErrorBody(err: AppError): { type: "error"; error: { type: string; message: string } } {
  return {
    type: "error",
    error: { type: ANTHROPIC_TYPES[err.status] ?? "api_error", message: `${err.code}: ${err.message}` },
  };
}
