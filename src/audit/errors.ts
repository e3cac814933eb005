// Audit errors: stable codes, HTTP statuses and messages that say what to do.
import { defineError } from "../core/errors";

export const AuditErrors = {
  signingKeyMissing: defineError(
    "AUDIT_SIGNING_KEY_MISSING",
    500,
    "The audit signing key file does not exist; generate one with generateSigningKey or fix the configured path.",
  ),
  signingKeyInvalid: defineError(
    "AUDIT_SIGNING_KEY_INVALID",
    500,
    "The audit signing key file is not an Ed25519 private key in PKCS#8 PEM; generate a new one.",
  ),
  signingKeyExists: defineError(
    "AUDIT_SIGNING_KEY_EXISTS",
    409,
    "An audit signing key already exists at that path; it is never overwritten, since checkpoints it signed would no longer verify.",
  ),
};
