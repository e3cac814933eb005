// What route plugins receive: the domain services, never the database directly.
import type { AuditTrail } from "../../audit";
import type { AuthService, SseTokens } from "../../auth";
import type { EventBus } from "../../core/events";
import type { EventStore } from "../../events/store";
import type { Runtime } from "../../runtime/types";
import type { SessionService } from "../../session";
import type { Db } from "../../store/db";
import type { SseHub } from "../sse";

export interface RouteDeps {
  audit: AuditTrail;
  auth: AuthService;
  sseTokens: SseTokens;
  sessions: SessionService;
  runtime: Runtime;
  db: Db;
  events: EventStore;
  bus: EventBus;
  sse: { heartbeatMs: number; queueLimit: number; hub: SseHub };
  checkDatabase: () => Promise<void>;
}
