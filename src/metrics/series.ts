// Every Prometheus series Aegis exports, declared once on a per-app registry.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Readings taken at scrape time, so gauges are right after a restart. */
export interface ScrapeSources {
  sessionsByStatus: () => Promise<Record<string, number>>;
  /** Pending approvals and the age in seconds of the oldest (0 when none). */
  pendingApprovals: () => Promise<{ count: number; oldestAgeSeconds: number }>;
  sseClients: () => number;
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const APPROVAL_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function declareSeries(registers: Registry[], src: ScrapeSources) {
  return {
    sessions: new Gauge({
      name: "aegis_sessions",
      help: "Sessions by status, read from the database at scrape time.",
      labelNames: ["status"] as const,
      registers,
      async collect() {
        for (const [status, n] of Object.entries(await src.sessionsByStatus())) this.set({ status }, n);
      },
    }),
    sessionsStarted: new Counter({
      name: "aegis_sessions_started_total",
      help: "Sessions created (session.created).",
      registers,
    }),
    sessionsEnded: new Counter({
      name: "aegis_sessions_ended_total",
      help: "Sessions that ended, by outcome (stopped or failed).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    messages: new Counter({
      name: "aegis_messages_total",
      help: "Messages: prompts submitted (role=user) and assistant messages completed (role=assistant).",
      labelNames: ["role"] as const,
      registers,
    }),
    turns: new Counter({
      name: "aegis_turns_total",
      help: "Turns Claude Code reported the end of, whatever their outcome (usage.recorded).",
      registers,
    }),
    turnFailures: new Counter({
      name: "aegis_turn_failures_total",
      help: "Turns that failed or never finished, by error code (MODEL_API_ERROR, INTERRUPTED, SERVER_RESTARTED, ...).",
      labelNames: ["code"] as const,
      registers,
    }),
    toolCalls: new Counter({
      name: "aegis_tool_calls_total",
      help: "Finished tool calls by tool and decision (auto, policy_allow, policy_deny, approved, rejected, cancelled, expired).",
      labelNames: ["tool", "decision"] as const,
      registers,
    }),
    approvalsRequested: new Counter({
      name: "aegis_approvals_requested_total",
      help: "Tool calls (and questions) that waited for a person's decision, by tool.",
      labelNames: ["tool"] as const,
      registers,
    }),
    approvalsPending: new Gauge({
      name: "aegis_approvals_pending",
      help: "Approvals waiting for a decision, read from the database at scrape time.",
      registers,
      async collect() {
        this.set((await src.pendingApprovals()).count);
      },
    }),
    approvalOldestAge: new Gauge({
      name: "aegis_approval_oldest_pending_age_seconds",
      help: "How long the oldest pending approval has waited (0 when none), at scrape time.",
      registers,
      async collect() {
        this.set((await src.pendingApprovals()).oldestAgeSeconds);
      },
    }),
    approvalWait: new Histogram({
      name: "aegis_approval_wait_seconds",
      help: "Time from an approval request to its resolution, by outcome (approved, rejected, cancelled, expired).",
      labelNames: ["outcome"] as const,
      buckets: APPROVAL_BUCKETS,
      registers,
    }),
    tokens: new Counter({
      name: "aegis_tokens_total",
      help: "Model tokens by model and kind (input, output, cache_read, cache_write).",
      labelNames: ["model", "kind"] as const,
      registers,
    }),
    cost: new Counter({
      name: "aegis_cost_usd_total",
      help: "Model cost in US dollars as Claude Code reports it, by model.",
      labelNames: ["model"] as const,
      registers,
    }),
    modelErrors: new Counter({
      name: "aegis_model_api_errors_total",
      help: "Failed model API calls (retried or final) by HTTP status; status=none when no response came.",
      labelNames: ["status"] as const,
      registers,
    }),
    sseClients: new Gauge({
      name: "aegis_sse_clients",
      help: "Open server-sent event streams.",
      registers,
      collect() {
        this.set(src.sseClients());
      },
    }),
    eventLag: new Histogram({
      name: "aegis_event_delivery_lag_seconds",
      help: "Time from an event being stored to it being queued for an SSE client (live events only, once per client).",
      buckets: LAG_BUCKETS,
      registers,
    }),
    events: new Counter({
      name: "aegis_events_total",
      help: "Events published on the bus, by type.",
      labelNames: ["type"] as const,
      registers,
    }),
    http: new Histogram({
      name: "aegis_http_request_duration_seconds",
      help: "HTTP requests by method, route pattern and status code (event streams excluded).",
      labelNames: ["method", "route", "status_code"] as const,
      buckets: HTTP_BUCKETS,
      registers,
    }),
  };
}

export type Series = ReturnType<typeof declareSeries>;
