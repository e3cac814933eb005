// Policy errors: stable codes, HTTP statuses and messages that say what to fix.
import { defineError } from "../core/errors";

export const PolicyErrors = {
  invalid: defineError(
    "POLICY_INVALID",
    400,
    "The policy is not valid; fix the rule and field named in the message (all problems are in details.issues).",
  ),
  notFound: defineError("POLICY_NOT_FOUND", 404, "No policy is set for this scope; PUT one first."),
  overrideNotAnswered: defineError(
    "OVERRIDE_NOT_ANSWERED",
    403,
    "Only allow_always on an approval (a person's answer) or an admin adds an overridesAsk rule; keep the session's existing ones and drop the new one.",
  ),
  versionNotFound: defineError(
    "POLICY_VERSION_NOT_FOUND",
    404,
    "This scope has no policy with that version; list the scope's history for the versions it has.",
  ),
};
