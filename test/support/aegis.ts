// Starts a real Aegis server on port 0 with a temp data dir, its Claude Code processes pointed at
// the scripted model server, plus small REST and SSE clients for tests.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { type App, createApp } from "../../src/app";
import { loadConfig } from "../../src/config/load";
import { createLogger } from "../../src/core/log";
import { type ClaudeEnv, makeClaudeEnv } from "./claude-env";

export interface TestAegis {
  app: App;
  url: string;
  /** Every log line the server wrote (at the level the test asked for). */
  logs: string[];
  /** The bootstrap admin token; api() sends it unless headers say otherwise. */
  adminToken: string;
  dataDir: string;
  claude: ClaudeEnv;
  api: <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

export async function startAegis(
  modelUrl: string,
  overrides: Record<string, unknown> = {},
  claudeExtra: Record<string, string> = {},
): Promise<TestAegis> {
  const dataDir = mkdtempSync(join(tmpdir(), "aegis-data-"));
  const claude = makeClaudeEnv(modelUrl, claudeExtra);
  const adminToken = `test-admin-${randomBytes(16).toString("hex")}`;
  const { config } = loadConfig({
    env: { AEGIS_HOME: dataDir },
    overrides: {
      port: 0,
      "runtime.env": claude.env,
      "auth.token": adminToken,
      "security.allowedWorkDirs": [tmpdir()],
      ...overrides,
    },
  });
  const logs: string[] = [];
  const level = (overrides.logLevel as string | undefined) ?? process.env.AEGIS_TEST_LOG ?? "silent";
  const logger = createLogger(level, {
    write(line: string) {
      logs.push(line);
      if (process.env.AEGIS_TEST_LOG) process.stderr.write(line);
    },
  });
  const app = await createApp({ config, logger });
  const url = await app.listen();
  const api: TestAegis["api"] = async (method, path, body, headers = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON; keep text
    }
    return { status: res.status, body: parsed as never, headers: res.headers };
  };
  return {
    app,
    url,
    logs,
    adminToken,
    dataDir,
    claude,
    api,
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
      claude.cleanup();
    },
  };
}

export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: Record<string, any>;
}

/** An SSE subscription that collects events and lets a test wait for one. */
export class SseClient {
  readonly events: SseEvent[] = [];
  status: number | undefined;
  private readonly abort = new AbortController();
  private waiters: Array<{ pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
  closed: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.closed = this.run(url, headers);
  }

  /** A stream opened with the test server's admin token. */
  static admin(aegis: { adminToken: string }, url: string, headers: Record<string, string> = {}) {
    return new SseClient(url, { authorization: `Bearer ${aegis.adminToken}`, ...headers });
  }

  private async run(url: string, headers: Record<string, string>) {
    try {
      const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: this.abort.signal });
      this.status = res.status;
      if (!res.body) return;
      const parser = createParser({
        onEvent: (m: EventSourceMessage) => {
          const e = { id: m.id, event: m.event, data: JSON.parse(m.data) };
          this.events.push(e);
          this.waiters = this.waiters.filter((w) => {
            if (!w.pred(e)) return true;
            w.resolve(e);
            return false;
          });
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch (err) {
      if ((err as Error).name !== "AbortError") throw err;
    }
  }

  /** Resolves with the first event (already received or future) matching `pred`. */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 60_000, what = "event"): Promise<SseEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; saw: ${this.events.map((e) => e.event).join(", ")}`)),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  waitForType(type: string, extra: (data: Record<string, any>) => boolean = () => true, timeoutMs?: number) {
    return this.waitFor(
      (e) => e.event === type && extra((e.data.data ?? e.data) as Record<string, unknown>),
      timeoutMs,
      type,
    );
  }

  /** Waits for the session status to become `to`. */
  waitForStatus(to: string, timeoutMs?: number) {
    return this.waitForType("session.status_changed", (d) => d.to === to, timeoutMs);
  }

  /** Waits until `n` turns have ended (the session went idle after a turn). */
  waitTurnsEnded(n: number, timeoutMs = 60_000) {
    return this.waitFor(
      (e) =>
        e.event === "session.status_changed" &&
        e.data.data.to === "idle" &&
        String(e.data.data.reason).startsWith("turn ") &&
        this.turnEnds(e) >= n,
      timeoutMs,
      `${n} turn(s) to end`,
    );
  }

  private turnEnds(upTo: SseEvent): number {
    const i = this.events.indexOf(upTo);
    return this.events
      .slice(0, i + 1)
      .filter(
        (e) =>
          e.event === "session.status_changed" &&
          e.data.data.to === "idle" &&
          String(e.data.data.reason).startsWith("turn "),
      ).length;
  }

  of(type: string): SseEvent[] {
    return this.events.filter((e) => e.event === type);
  }

  close() {
    this.abort.abort();
  }
}
