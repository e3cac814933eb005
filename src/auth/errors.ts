// Authentication and authorisation errors.
import { defineError } from "../core/errors";

export const AuthErrors = {
  missing: defineError(
    "AUTH_REQUIRED",
    401,
    "Send an API key as `Authorization: Bearer <key>`; create one with `ag init` or POST /v1/auth/keys.",
  ),
  invalid: defineError("INVALID_API_KEY", 401, "The API key is unknown, revoked or expired."),
  keyInQuery: defineError(
    "KEY_IN_QUERY",
    400,
    "API keys are accepted only in the Authorization header, never in the URL; remove it from the query string (and rotate it: URLs get logged).",
  ),
  sseTokenInvalid: defineError(
    "SSE_TOKEN_INVALID",
    401,
    "The SSE token is unknown, expired or already used; mint a new one with POST /v1/auth/sse-token.",
  ),
  forbidden: defineError("FORBIDDEN", 403, "This API key's role or scopes do not allow this action."),
  tooManyFailures: defineError(
    "TOO_MANY_AUTH_FAILURES",
    429,
    "Too many failed authentications from this address; wait for Retry-After seconds.",
  ),
  rateLimited: defineError("RATE_LIMITED", 429, "Too many requests for this API key; wait for Retry-After seconds."),
  keyNotFound: defineError("KEY_NOT_FOUND", 404, "No API key with that id."),
  rotationConflict: defineError(
    "KEY_ROTATED_MEANWHILE",
    409,
    "The key was rotated by another request at the same time; use the token that request returned, or rotate again.",
  ),
  scopeBeyondRole: defineError("SCOPE_BEYOND_ROLE", 400, "Scopes must be permissions of the key's role."),
  roleAboveCaller: defineError("ROLE_ABOVE_CALLER", 403, "You cannot create a key with more rights than your own."),
  keyBeyondCaller: defineError(
    "KEY_BEYOND_CALLER",
    403,
    "This key can create, rotate or revoke only keys whose permissions it holds itself; use a key with at least this key's role and scopes.",
  ),
};
