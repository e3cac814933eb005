// Wires the domains, the event bus and the transports into one server.
import { join } from "node:path";
import { sql } from "kysely";
import type { Config } from "./config/schema";
import { type Clock, systemClock } from "./core/clock";
import { EventBus } from "./core/events";
import type { Logger } from "./core/log";
import { EventStore } from "./events/store";
import { buildHttp } from "./http/server";
import { SseHub } from "./http/sse";
import { AgentSdkRuntime } from "./runtime/agent-sdk";
import type { Runtime } from "./runtime/types";
import { SessionService } from "./session";
import { openDb } from "./store/db";
import { migrate } from "./store/migrations";
import { createTransact } from "./store/tx";

export interface AppDeps {
  config: Config;
  logger: Logger;
  clock?: Clock;
  runtime?: Runtime;
}

export async function createApp(deps: AppDeps) {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const opened = openDb(join(config.dataDir, "aegis.db"));
  await migrate(opened.db);
  const bus = new EventBus();
  const events = new EventStore(clock);
  const transact = createTransact(opened.db, events.append, bus);
  const runtime =
    deps.runtime ??
    new AgentSdkRuntime({
      claudePath: config.claudePath,
      env: config.runtime.env,
      disableNonessentialTraffic: config.runtime.disableNonessentialTraffic,
      logger: logger.child({ module: "runtime" }),
    });
  const sessions = new SessionService({
    db: opened.db,
    transact,
    clock,
    log: logger.child({ module: "session" }),
    config,
    runtime,
    lives: new Map(),
  });
  const http = await buildHttp({
    logger,
    sessions,
    runtime,
    db: opened.db,
    events,
    bus,
    sse: { ...config.sse, hub: new SseHub() },
    checkDatabase: async () => {
      await sql`select 1`.execute(opened.db);
    },
  });

  let closed = false;
  return {
    config,
    http,
    sessions,
    runtime,
    bus,
    db: opened.db,
    /** Resumes the sessions a previous run left live, then listens. */
    async listen(): Promise<string> {
      await sessions.recover();
      return http.listen({ host: config.host, port: config.port });
    },
    /** Stops Claude Code processes (leaving sessions resumable) and closes everything. */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await sessions.shutdown();
      await http.close();
      await opened.close();
    },
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
