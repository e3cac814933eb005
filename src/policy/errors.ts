// Policy errors: stable codes, HTTP statuses and messages that say what to fix.
import { defineError } from "../core/errors";

export const PolicyErrors = {
  invalid: defineError(
    "POLICY_INVALID",
    400,
    "The policy is not valid; fix the rule and field named in the message (all problems are in details.issues).",
  ),
  notFound: defineError("POLICY_NOT_FOUND", 404, "No policy is set for this scope; PUT one first."),
  versionNotFound: defineError(
    "POLICY_VERSION_NOT_FOUND",
    404,
    "This scope has no policy with that version; list the scope's history for the versions it has.",
  ),
};
