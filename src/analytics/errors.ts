// Analytics errors: stable codes, HTTP statuses and messages that say what to do.
import { defineError } from "../core/errors";

export const AnalyticsErrors = {
  rangeInvalid: defineError(
    "ANALYTICS_RANGE_INVALID",
    400,
    "`from` must be before `to` (which defaults to now, and `from` to 30 days before `to`).",
  ),
};
