// The session domain's public surface.
export { type GateDecision, type LiveSession, newLive, type PolicyGate, type SessionContext } from "./context";
export { SessionErrors, SessionFailureCodes } from "./errors";
export * from "./events";
export type { HookResponse } from "./hooks";
export type { Observer } from "./observed";
export {
  SessionLatencySchema,
  SessionMetricsSchema,
  sessionCountsByStatus,
  sessionLatency,
  sessionMetrics,
  transcriptPage,
} from "./queries";
export * from "./schema";
export { SessionService } from "./service";
export * from "./status";
