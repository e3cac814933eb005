// What route plugins receive: the domain services, never the database directly.
import type { AnalyticsService } from "../../analytics";
import type { AuditTrail } from "../../audit";
import type { AuthService, SseTokens } from "../../auth";
import type { EventBus } from "../../core/events";
import type { EventStore } from "../../events/store";
import type { ModelGateway } from "../../gateway";
import type { HookService } from "../../hooks";
import type { Metrics } from "../../metrics";
import type { PolicyService } from "../../policy";
import type { Runtime } from "../../runtime/types";
import type { SessionService } from "../../session";
import type { Db } from "../../store/db";
import type { SseHub } from "../sse";

export interface RouteDeps {
  policies: PolicyService;
  hooks: HookService;
  /** config.hooks, plus auth.maxFailuresPerMinute for bad hook secrets. */
  hookLimits: { timeoutSeconds: number; bodyLimitBytes: number; maxFailuresPerMinute: number };
  audit: AuditTrail;
  auth: AuthService;
  sseTokens: SseTokens;
  sessions: SessionService;
  runtime: Runtime;
  db: Db;
  events: EventStore;
  bus: EventBus;
  sse: { heartbeatMs: number; queueLimit: number; hub: SseHub };
  metrics: Metrics;
  checkDatabase: () => Promise<void>;
  analytics: AnalyticsService;
  /** The model gateway (mounted at /gateway), or null when sessions talk to the model API directly. */
  gateway: ModelGateway | null;
}
