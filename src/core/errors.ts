// The error catalogue primitive: every domain declares its errors once with a stable code.
export interface ErrorSpec {
  code: string;
  status: number;
  message: string;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(spec: ErrorSpec, message?: string, details?: Record<string, unknown>) {
    super(message ?? spec.message);
    this.name = "AppError";
    this.code = spec.code;
    this.status = spec.status;
    this.details = details;
  }
}

/** Declares a catalogue entry and returns a factory that builds the error with optional detail. */
export function defineError(code: string, status: number, message: string) {
  const spec: ErrorSpec = { code, status, message };
  const make = (detail?: { message?: string; details?: Record<string, unknown> }) =>
    new AppError(spec, detail?.message, detail?.details);
  return Object.assign(make, { spec, code });
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

export const CoreErrors = {
  validation: defineError("VALIDATION_FAILED", 400, "The request is not valid; see details for the fields to fix."),
  notFound: defineError("ROUTE_NOT_FOUND", 404, "No such route; see /docs for the API."),
  internal: defineError("INTERNAL", 500, "Internal error; the server log has the request id."),
  auditUnavailable: defineError(
    "AUDIT_UNAVAILABLE",
    503,
    "The audit trail could not be written, so the action was not carried out; check the server log and the disk.",
  ),
};
