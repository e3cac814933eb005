// Prometheus metrics: a registry per app, fed by the bus, the HTTP layer and the SSE hub.
import { Registry } from "prom-client";
import { approvalStore } from "../approval";
import type { Clock } from "../core/clock";
import type { EventBus, StoredEvent } from "../core/events";
import { sessionCountsByStatus } from "../session";
import type { Db } from "../store/db";
import { declareSeries, type Series } from "./series";
import { subscribeMetrics } from "./subscriber";

export interface MetricsDeps {
  db: Db;
  bus: EventBus;
  clock: Clock;
  /** How many SSE streams are open right now. */
  sseClients: () => number;
}

export interface HttpObservation {
  method: string;
  /** The route pattern (`/v1/sessions/:id`), never the raw URL; undefined when no route matched. */
  route: string | undefined;
  statusCode: number;
  seconds: number;
}

export class Metrics {
  /** Never the prom-client default registry, so two servers can share a process. */
  readonly registry = new Registry();
  private readonly series: Series;
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: MetricsDeps) {
    this.series = declareSeries([this.registry], {
      sessionsByStatus: () => sessionCountsByStatus(deps.db),
      pendingApprovals: async () => {
        const pending = await approvalStore.pending(deps.db);
        const oldest = pending[0] ? Date.parse(pending[0].requestedAt) : undefined;
        const now = deps.clock.now().getTime();
        return {
          count: pending.length,
          oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000),
        };
      },
      sseClients: deps.sseClients,
    });
    this.unsubscribe = subscribeMetrics(deps.bus, this.series);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every series. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  observeHttp(o: HttpObservation): void {
    this.series.http.observe(
      { method: o.method, route: o.route ?? "unmatched", status_code: String(o.statusCode) },
      o.seconds,
    );
  }

  /** A live event was queued for an SSE client: how long after it was stored. */
  eventDelivered(e: StoredEvent): void {
    const lag = (this.deps.clock.now().getTime() - Date.parse(e.time)) / 1000;
    this.series.eventLag.observe(Math.max(0, lag));
  }

  close(): void {
    this.unsubscribe();
  }
}
