// Wires the domains, the event bus and the transports into one server.
import { join } from "node:path";
import { sql } from "kysely";
import { AnalyticsService } from "./analytics";
import { openAuditTrail } from "./audit";
import { AuthService, loadServerSecret, SseTokens } from "./auth";
import { ConfigError } from "./config/load";
import type { Config } from "./config/schema";
import { type Clock, systemClock } from "./core/clock";
import { EventBus } from "./core/events";
import type { Logger } from "./core/log";
import { EventStore } from "./events/store";
import { gatewayUpstream, localUrlOf, ModelGateway } from "./gateway";
import { HookService } from "./hooks";
import { buildHttp } from "./http/server";
import { SseHub } from "./http/sse";
import { Metrics } from "./metrics";
import { type Policy, PolicyService, parsePolicy, sessionGate } from "./policy";
import { AgentSdkRuntime } from "./runtime/agent-sdk";
import type { Runtime } from "./runtime/types";
import { SessionService } from "./session";
import { openDb } from "./store/db";
import { migrate } from "./store/migrations";
import { startReader } from "./store/reader";
import { createTransact } from "./store/tx";
import { createTelemetry } from "./telemetry";

export interface AppDeps {
  config: Config;
  logger: Logger;
  clock?: Clock;
  runtime?: Runtime;
}

/** The server default policy from the config file, validated with the messages the API gives. */
function serverPolicyFromConfig(config: Config): Policy | undefined {
  if (config.policies.default === undefined) return undefined;
  try {
    return parsePolicy(config.policies.default);
  } catch (err) {
    throw new ConfigError(`policies.default in the config: ${(err as Error).message}`);
  }
}

/** Refuses configurations that would expose an unauthenticated server. */
export function checkExposure(config: Config): void {
  const loopback = ["127.0.0.1", "::1", "localhost"].includes(config.host) || config.host.startsWith("127.");
  if (!config.auth.enabled && !loopback) {
    throw new ConfigError(
      `Refusing to listen on ${config.host} with auth disabled: anyone who can reach it could run code. Enable auth (auth.enabled: true) or bind 127.0.0.1.`,
    );
  }
}

export async function createApp(deps: AppDeps) {
  const { config, logger } = deps;
  checkExposure(config);
  const upstream = gatewayUpstream(config);
  const clock = deps.clock ?? systemClock;
  const dbFile = join(config.dataDir, "aegis.db");
  const opened = openDb(dbFile, { checkpoints: { logger: logger.child({ module: "db" }) } });
  await migrate(opened.db);
  // Analytics and metrics scrapes aggregate whole tables: they read on a worker thread, never on
  // the event loop or behind the writer.
  const reader = startReader(dbFile, opened.db, { logger: logger.child({ module: "db" }) });
  const bus = new EventBus();
  const telemetry = createTelemetry(config.telemetry, { bus, logger });
  const events = new EventStore(clock);
  const audit = await openAuditTrail(opened.db, {
    signingKeyPath: config.audit.signingKeyPath ?? join(config.dataDir, "audit-signing.key"),
    anchorFile: config.audit.anchorFile ?? join(config.dataDir, "audit-checkpoints.ndjson"),
    everyRecords: config.audit.checkpointEveryRecords,
    everySeconds: config.audit.checkpointEverySeconds,
    clock,
    log: logger.child({ module: "audit" }),
  });
  const transact = createTransact(opened.db, events.append, bus, audit.append);
  const serverSecret = loadServerSecret(join(config.dataDir, "secret.key"));
  const auth = new AuthService({
    db: opened.db,
    transact,
    clock,
    log: logger.child({ module: "auth" }),
    serverSecret,
    bootstrapToken: config.auth.token,
    metricsToken: config.metrics.token,
  });
  const hooks = new HookService({
    db: opened.db,
    transact,
    clock,
    serverSecret,
    ownerWorks: (id) => auth.keyWorks(id),
    tenants: (t) => ({ shareSessions: config.auth.tenants[t]?.shareSessions ?? false }),
  });
  const sseTokens = new SseTokens(clock, config.auth.sseTokenTtlSeconds, (p) => auth.isActive(p));
  const runtime =
    deps.runtime ??
    new AgentSdkRuntime({
      claudePath: config.claudePath,
      env: config.runtime.env,
      disableNonessentialTraffic: config.runtime.disableNonessentialTraffic,
      logger: logger.child({ module: "runtime" }),
    });
  // The model gateway sits on each managed session's model path, unless it is off or has no credentials.
  const gateway: ModelGateway | null = upstream.upstream
    ? new ModelGateway({
        db: opened.db,
        transact,
        clock,
        log: logger.child({ module: "gateway" }),
        config,
        upstream: upstream.upstream,
        markBudgetExceeded: (tx, id, why) => sessions.markBudgetExceeded(tx, id, why),
      })
    : null;
  if (!gateway && config.gateway.enabled) logger.warn({ reason: upstream.reason }, "model gateway inactive");
  gateway?.listen(bus);
  const policies = new PolicyService({
    db: opened.db,
    transact,
    clock,
    configDefault: serverPolicyFromConfig(config),
    sessionScope: async (id) => {
      const s = await sessions.ownership(id);
      return s ? { tenant: s.tenant, ownerKeyId: s.ownerKeyId, workDir: s.workDir } : undefined;
    },
  });
  const sessions: SessionService = new SessionService({
    db: opened.db,
    transact,
    clock,
    log: logger.child({ module: "session" }),
    config,
    runtime,
    lives: new Map(),
    lifecycle: { stopping: false },
    modelPath: gateway ? (s) => gateway.sessionPath(s) : undefined,
    policy: sessionGate(policies),
  });
  const sseHub = new SseHub(
    {
      perKey: config.limits.sseConnectionsPerKey,
      perIp: config.limits.sseConnectionsPerIp,
      total: config.limits.sseConnectionsTotal,
    },
    (e) => metrics.eventDelivered(e),
  );
  // Scrapes read on the reader too: a scrape never waits behind the writer's work.
  const metrics = new Metrics({ db: reader.db, bus, clock, sseClients: () => sseHub.size });
  const http = await buildHttp({
    logger,
    tracing: telemetry?.httpPlugin,
    requestSpan: telemetry?.requestSpan,
    bodyLimit: config.limits.bodyLimitBytes,
    corsOrigins: config.security.corsOrigins,
    authPlugin: {
      enabled: config.auth.enabled,
      maxFailuresPerMinute: config.auth.maxFailuresPerMinute,
      requestsPerMinute: config.auth.requestsPerMinute,
      audit: (entry) => transact(async (tx) => tx.audit(entry)),
    },
    auth,
    sseTokens,
    audit,
    hooks,
    hookLimits: { ...config.hooks, maxFailuresPerMinute: config.auth.maxFailuresPerMinute },
    policies,
    sessions,
    runtime,
    db: opened.db,
    events,
    bus,
    sse: {
      ...config.sse,
      hub: sseHub,
    },
    metrics,
    checkDatabase: async () => {
      await sql`select 1`.execute(opened.db);
    },
    analytics: new AnalyticsService({ db: reader.db, clock, config }),
    gateway,
  });

  let closed = false;
  return {
    config,
    http,
    sessions,
    auth,
    audit,
    runtime,
    bus,
    metrics,
    telemetry,
    db: opened.db,
    /** Long reads (analytics, metrics scrapes) on a worker thread's connection. */
    reader,
    gateway,
    /** Resumes the sessions a previous run left live, then listens. */
    async listen(): Promise<string> {
      await sessions.recover();
      const url = await http.listen({ host: config.host, port: config.port });
      // Resumed sessions wait for this before starting Claude Code behind the gateway.
      gateway?.bind(localUrlOf(http.server.address()));
      return url;
    },
    /** Stops Claude Code processes (leaving sessions resumable) and closes everything. */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await sessions.shutdown();
      await http.close();
      await gateway?.close();
      await telemetry?.shutdown();
      metrics.close();
      await audit.close();
      await reader.close();
      await opened.close();
    },
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
