// The model gateway: authenticates a session's Claude Code by its gateway token, enforces budgets,
// forwards to the upstream model API without buffering, and meters every Messages request.
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { Agent, request } from "undici";
import type { Config } from "../config/schema";
import type { Clock } from "../core/clock";
import { isAppError } from "../core/errors";
import { type EventBus, event } from "../core/events";
import type { Logger } from "../core/log";
import { SessionEnded, TurnFailed, UsageRecorded } from "../session/events";
import type { Db } from "../store/db";
import type { Transact, Tx } from "../store/tx";
import { type Breach, firstBreach, hasBudgets, SpendTotals } from "./budgets";
import { DeferredWrites } from "./deferred";
import { GatewayErrors } from "./errors";
import { BudgetExceeded, ModelRequestMetered } from "./events";
import { rateLimitHeaders, UsageMeter } from "./meter";
import { costOf, type MeteredUsage, recordedModel } from "./prices";
import type { ForwardedBody } from "./request-body";
import { type ModelRequestRecord, modelRequestStore, type Outcome } from "./store";
import { GatewayTokens, type SessionGrant } from "./tokens";
import { CREDENTIAL_ENV, OTHER_PROVIDERS_OFF, type Upstream } from "./upstream";

export interface GatewayDeps {
  db: Db;
  transact: Transact;
  clock: Clock;
  log: Logger;
  config: Config;
  upstream: Upstream;
  /** Marks the session budget_exceeded inside the gateway's unit of work; the session domain owns the rule. */
  markBudgetExceeded: (tx: Tx, sessionId: string, reason: string) => Promise<void>;
}

export interface GatewayRequest {
  method: string;
  /** The path under the gateway's mount, e.g. `/v1/messages`. */
  path: string;
  /** The query string with its `?`, or "". */
  search: string;
  headers: IncomingHttpHeaders;
  /** Streamed upstream as it arrives; see ForwardedBody. */
  body: ForwardedBody;
  /** What the client sent as x-api-key or Bearer token. */
  credential: string | undefined;
  /** Aborted when the client goes away; the upstream request is then cancelled. */
  signal: AbortSignal;
}

export interface GatewayAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Readable | null;
}

/** What a session's Claude Code process runs with when it is behind the gateway. */
export interface SessionModelPath {
  env: Record<string, string>;
  unsetEnv: string[];
  /** What settings files must not move: the endpoint and the provider (never the token: see pinnedEnv). */
  pinnedEnv: Record<string, string>;
}

type Route = "messages" | "count_tokens" | "hello";

function routeOf(method: string, path: string): Route | undefined {
  if (method === "POST" && path === "/v1/messages") return "messages";
  if (method === "POST" && path === "/v1/messages/count_tokens") return "count_tokens";
  if ((method === "GET" || method === "HEAD") && path === "/api/hello") return "hello";
  return undefined;
}

/** Hop-by-hop headers, and the client's credential that the upstream's replaces. */
const DROP_REQUEST = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "x-api-key",
  "authorization",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "upgrade",
  "expect",
  "trailer",
  "accept-encoding",
]);
const DROP_RESPONSE = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "proxy-connection",
  "upgrade",
  "trailer",
]);

/** Claude Code's requests may take minutes (long non-streamed answers, slow streams). */
const UPSTREAM_TIMEOUT_MS = 10 * 60_000;

const consumed = (u: MeteredUsage) => u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens > 0;

/** Events that end a turn (session/events.ts): its requests' records are written by then. */
const TURN_ENDS = new Set<string>([UsageRecorded.type, TurnFailed.type, SessionEnded.type]);

export class ModelGateway {
  readonly tokens = new GatewayTokens();
  private readonly agent = new Agent({
    headersTimeout: UPSTREAM_TIMEOUT_MS,
    bodyTimeout: UPSTREAM_TIMEOUT_MS,
    keepAliveTimeout: 30_000,
  });
  private readonly budgeted: boolean;
  private readonly spent = new SpendTotals();
  /** Records of finished answers not written yet (see deferred.ts). */
  private readonly records = new DeferredWrites();
  private bindAddress!: (address: string) => void;
  private readonly address = new Promise<string>((resolve) => {
    this.bindAddress = resolve;
  });

  constructor(private readonly deps: GatewayDeps) {
    this.budgeted = hasBudgets(deps.config.budgets);
  }

  /** The server's own address, known once it listens; sessions started before then wait for it. */
  bind(serverUrl: string): void {
    this.bindAddress(serverUrl.replace(/\/+$/, ""));
  }

  /** Revokes a session's token when the session ends. */
  listen(bus: EventBus): () => void {
    return bus.subscribe((e) => {
      if (!e.sessionId) return;
      // A turn's model requests are on record by the time its end is: the writes are queued on the
      // database now, ahead of anything a reader of the event asks next.
      if (TURN_ENDS.has(e.type)) void this.flushRecords(e.sessionId);
      if (e.type === SessionEnded.type) {
        this.tokens.revoke(e.sessionId);
        this.spent.forgetSession(e.sessionId);
      }
    });
  }

  /** Issues the session a gateway token: its Claude Code sees that token and the gateway URL, never the real key. */
  async sessionPath(s: { id: string; tenant: string; ownerKeyId: string | null }): Promise<SessionModelPath> {
    const base = await this.address;
    const token = this.tokens.issue({ sessionId: s.id, tenant: s.tenant, ownerKeyId: s.ownerKeyId });
    const endpoint = `${base}/gateway`;
    return {
      env: { ANTHROPIC_BASE_URL: endpoint, ANTHROPIC_API_KEY: token },
      unsetEnv: CREDENTIAL_ENV,
      pinnedEnv: { ANTHROPIC_BASE_URL: endpoint, ...OTHER_PROVIDERS_OFF },
    };
  }

  async close(): Promise<void> {
    await this.flushRecords();
    if (!this.agent.closed) await this.agent.close();
  }

  async forward(req: GatewayRequest): Promise<GatewayAnswer> {
    const started = this.deps.clock.monotonic();
    const startedAt = this.deps.clock.now().toISOString();
    const grant = this.tokens.verify(req.credential);
    if (!grant) throw GatewayErrors.tokenInvalid();
    const route = routeOf(req.method, req.path);
    if (!route) throw GatewayErrors.pathNotForwarded({ details: { method: req.method, path: req.path } });
    const metered = route === "messages";
    const base = { grant, path: req.path, started, startedAt, body: req.body };

    if (metered && this.budgeted) {
      // Every finished answer counts before this request is let through.
      await this.flushRecords();
      const breach = await firstBreach(
        this.deps.db,
        this.deps.config.budgets,
        grant,
        this.deps.clock.now(),
        this.spent,
      );
      if (breach) {
        await req.body.drain();
        await this.refuse(base, breach);
        throw GatewayErrors.budgetExceeded({ message: breach.message, details: { scope: breach.scope } });
      }
    }

    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(this.deps.upstream.baseUrl + req.path + req.search, {
        method: req.method as "POST",
        headers: this.upstreamHeaders(req.headers),
        // Streamed as it arrives; the content-length the client sent (kept above) frames it upstream.
        body: req.body.present ? req.body.stream() : null,
        signal: req.signal,
        dispatcher: this.agent,
      });
    } catch (err) {
      const aborted = req.signal.aborted;
      if (isAppError(err)) {
        // The client's own fault (a body over the limit): the model never saw the request.
        if (metered) await this.record(base, { outcome: "error", status: err.status, errorType: "request_too_large" });
        throw err;
      }
      if (metered)
        await this.record(base, {
          outcome: aborted ? "aborted" : "error",
          status: 502,
          errorType: "upstream_unreachable",
        });
      if (!aborted) this.deps.log.warn({ err: (err as Error).message, path: req.path }, "model API unreachable");
      throw GatewayErrors.upstreamUnreachable({ details: { cause: (err as Error).message } });
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !DROP_RESPONSE.has(k)) headers[k] = v;
    if (!metered) {
      if (req.method !== "HEAD") return { status: res.statusCode, headers, body: res.body };
      await res.body.dump();
      return { status: res.statusCode, headers, body: null };
    }
    return { status: res.statusCode, headers, body: this.meter(base, res, req.signal) };
  }

  private upstreamHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(incoming)) if (v !== undefined && !DROP_REQUEST.has(k)) out[k] = v;
    // Uncompressed, so usage can be read on the way through; the hop to Claude Code is local.
    out["accept-encoding"] = "identity";
    const { apiKey, authToken } = this.deps.upstream;
    if (apiKey !== undefined) out["x-api-key"] = apiKey;
    if (authToken !== undefined) out.authorization = `Bearer ${authToken}`;
    return out;
  }

  /** Passes the body through untouched while reading usage from it; records the request when it ends. */
  private meter(base: Base, res: Awaited<ReturnType<typeof request>>, signal: AbortSignal): Readable {
    const clock = this.deps.clock;
    const meter = new UsageMeter(String(res.headers["content-type"] ?? ""), () => clock.monotonic());
    const rateLimits = rateLimitHeaders(res.headers);
    const upstreamRequestId = typeof res.headers["request-id"] === "string" ? res.headers["request-id"] : null;
    let recorded = false;
    const finish = (outcome: Outcome, endedAt = clock.monotonic()) => {
      if (recorded) return Promise.resolve();
      recorded = true;
      const failed = res.statusCode >= 400 || meter.errorType !== null;
      return this.record(base, {
        endedAt,
        outcome: outcome === "ok" && failed ? "error" : outcome,
        status: res.statusCode,
        errorType: meter.errorType ?? (outcome === "error" ? "stream_interrupted" : null),
        meter,
        rateLimits,
        upstreamRequestId,
      });
    };
    // The meter listens beside the relay instead of sitting in it as a Transform: one stream hop
    // less for every chunk on the way back to Claude Code.
    const body = res.body;
    body.on("data", (chunk: Buffer) => meter.feed(chunk));
    // Listening made it flow: hold it until the route pipes it to Claude Code (pipe resumes it).
    body.pause();
    // The client gets the end at once; the record follows shortly (a budget check or close writes
    // it at once). An answer that broke off is recorded now.
    body.once("end", () => {
      const endedAt = clock.monotonic();
      this.records.add(base.grant.sessionId, () => finish("ok", endedAt));
    });
    body.once("error", () => void finish(signal.aborted ? "aborted" : "error"));
    body.once("close", () => {
      if (!body.readableEnded) void finish(signal.aborted ? "aborted" : "error");
    });
    return body;
  }

  /** Writes the deferred records (of one session, or all) now. */
  flushRecords(sessionId?: string): Promise<void> {
    return this.records.flush(sessionId);
  }

  private async refuse(base: Base, breach: Breach): Promise<void> {
    const { grant } = base;
    await this.deps.transact(async (tx) => {
      await this.insert(tx, base, { outcome: "refused", status: 402, errorType: "billing_error" });
      await this.deps.markBudgetExceeded(tx, grant.sessionId, breach.message);
      tx.emit(
        event(BudgetExceeded, grant.sessionId, {
          scope: breach.scope,
          subject: breach.subject,
          unit: breach.unit,
          limit: breach.limit,
          spent: breach.spent,
          window: breach.window,
          resetsAt: breach.resetsAt,
          message: breach.message,
        }),
      );
      tx.audit({
        actor: { keyId: grant.ownerKeyId, role: null, tenant: grant.tenant, ip: null },
        action: "budget.exceeded",
        target: { type: "session", id: grant.sessionId },
        params: {
          scope: breach.scope,
          subject: breach.subject,
          unit: breach.unit,
          limit: breach.limit,
          spent: breach.spent,
          window: breach.window,
        },
        outcome: "denied",
        error: breach.message,
      });
    });
    this.deps.log.info(
      { sessionId: grant.sessionId, scope: breach.scope, unit: breach.unit },
      "model request refused: budget exceeded",
    );
  }

  private async record(base: Base, r: RecordInput): Promise<void> {
    try {
      await this.deps.transact((tx) => this.insert(tx, base, r));
    } catch (err) {
      this.deps.log.error({ err, sessionId: base.grant.sessionId }, "failed to record a model request");
    }
  }

  private async insert(tx: Tx, base: Base, r: RecordInput): Promise<void> {
    const usage = r.meter?.finish() ?? {
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      cacheWrite1hTokens: 0,
    };
    const model = recordedModel(r.meter?.model ?? base.body.model());
    const now = r.endedAt ?? this.deps.clock.monotonic();
    const firstToken = r.meter?.firstTokenAt ?? null;
    const record: ModelRequestRecord = {
      sessionId: base.grant.sessionId,
      tenant: base.grant.tenant,
      ownerKeyId: base.grant.ownerKeyId,
      model,
      path: base.path,
      outcome: r.outcome,
      status: r.status,
      errorType: r.errorType,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      // A request that consumed nothing (refused, failed before the model ran) costs nothing, priced model or not.
      costUsd: consumed(usage) ? costOf(model, usage) : 0,
      latencyMs: now - base.started,
      ttftMs: firstToken === null || r.status >= 400 ? null : firstToken - base.started,
      startedAt: base.startedAt,
      upstreamRequestId: r.upstreamRequestId ?? null,
      rateLimits: r.rateLimits ?? null,
    };
    await modelRequestStore.insert(tx.db, record);
    tx.emit(
      event(ModelRequestMetered, record.sessionId, {
        model: record.model,
        path: record.path,
        outcome: record.outcome,
        status: record.status,
        errorType: record.errorType,
        inputTokens: record.inputTokens,
        outputTokens: record.outputTokens,
        cacheReadTokens: record.cacheReadTokens,
        cacheWriteTokens: record.cacheWriteTokens,
        costUsd: record.costUsd,
        latencyMs: record.latencyMs,
        ttftMs: record.ttftMs,
      }),
    );
  }
}

interface Base {
  grant: SessionGrant;
  path: string;
  started: number;
  startedAt: string;
  body: ForwardedBody;
}

interface RecordInput {
  /** When the request ended (monotonic ms); the record may be written later. Default: now. */
  endedAt?: number;
  outcome: Outcome;
  status: number;
  errorType: string | null;
  meter?: UsageMeter;
  rateLimits?: Record<string, string> | null;
  upstreamRequestId?: string | null;
}
