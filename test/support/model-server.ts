// A scripted fake of the Anthropic Messages API, as Claude Code uses it.
// Tests run the real Claude Code binary with ANTHROPIC_BASE_URL = server.url.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { isDropStep, isErrorStep, type ReplyStep, type StaticStep, sleep, writeError, writeReply } from "./model-sse";

export type { DropStep, ErrorSpec, ErrorStep, ReplyStep, StaticStep, ToolUseSpec, Usage } from "./model-sse";
export { errorBody } from "./model-sse";

export type RequestKind = "turn" | "title" | "classifier" | "count_tokens" | "hello" | "other";

export interface RecordedRequest {
  seq: number;
  at: number;
  method: string;
  /** Path without the query string (e.g. `/v1/messages`). */
  path: string;
  /** Path with the query string (Claude Code sends `/v1/messages?beta=true`). */
  url: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; null when absent or not a JSON object. */
  body: Record<string, unknown> | null;
  rawBody: string;
  kind: RequestKind;
  /** Why the request got its kind. */
  reason: string;
  /** First user text (system reminders stripped), for /v1/messages requests. */
  conversation: string | null;
  /** How it was answered. */
  answer?: { source: "script" | "default" | "side" | "fixed"; status: number | "dropped"; script?: number; step?: number };
}

export type Step = StaticStep | ((req: RecordedRequest) => StaticStep);
export type Matcher = string | RegExp | ((firstUserText: string, req: RecordedRequest) => boolean);

export interface ScriptHandle {
  /** Requests this script answered. */
  readonly requests: RecordedRequest[];
  /** Steps not yet used up (persistent steps count as 1). */
  readonly remaining: number;
  readonly done: boolean;
  /** Append steps. */
  push(...steps: Step[]): void;
}

export interface ModelServerOptions {
  /** Reply used when no script matches or a script ran out (default "OK."). */
  defaultReply?: ReplyStep;
  /** Title answered to session-title requests (default "Test session"). */
  title?: string;
  /** Called with one line per request; default silent (MODEL_SERVER_DEBUG=1 logs to stderr). */
  log?: (line: string) => void;
}

export interface ModelServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  turnRequests(match?: Matcher): RecordedRequest[];
  script(match: Matcher, steps: Step[]): ScriptHandle;
  /** Verdict of the auto-mode security classifier (default "allow"). */
  classifier: "allow" | "block";
  /** Override the answer to a side request kind (title, classifier, other). */
  sideReply(kind: "title" | "classifier" | "other", step: Step | undefined): void;
  reset(): void;
  close(): Promise<void>;
}

// ---------- request helpers ----------

type Block = Record<string, unknown>;
interface Message {
  role: string;
  content: string | Block[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function messagesOf(req: RecordedRequest): Message[] {
  const m = req.body?.messages;
  if (!Array.isArray(m)) return [];
  return m.filter((x): x is Message => isObj(x) && typeof x.role === "string" && (typeof x.content === "string" || Array.isArray(x.content)));
}

function blocksOf(m: Message): Block[] {
  return typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content.filter(isObj);
}

const stripReminders = (s: string) => s.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, "").trim();

/** Text of the first user message, system reminders stripped. */
export function firstUserText(req: RecordedRequest): string {
  const first = messagesOf(req).find((m) => m.role === "user");
  if (!first) return "";
  return blocksOf(first)
    .map((b) => (b.type === "text" && typeof b.text === "string" ? stripReminders(b.text) : ""))
    .filter((t) => t !== "")
    .join("\n");
}

/** System prompt as one string. */
export function systemText(req: RecordedRequest): string {
  const s = req.body?.system;
  if (typeof s === "string") return s;
  if (!Array.isArray(s)) return "";
  return s.map((b) => (isObj(b) && typeof b.text === "string" ? b.text : "")).join("\n");
}

export function toolNames(req: RecordedRequest): string[] {
  const t = req.body?.tools;
  return Array.isArray(t) ? t.map((x) => (isObj(x) && typeof x.name === "string" ? x.name : "?")) : [];
}

export interface ToolResultBlock {
  type: "tool_result";
  tool_use_id: string;
  content?: string | Block[];
  is_error?: boolean;
}

/** tool_result blocks of the last user message of a request. */
export function lastToolResult(req: RecordedRequest): ToolResultBlock[] {
  const users = messagesOf(req).filter((m) => m.role === "user");
  const last = users[users.length - 1];
  if (!last) return [];
  return blocksOf(last).filter((b): b is Block & ToolResultBlock => b.type === "tool_result" && typeof b.tool_use_id === "string");
}

/** Flattened text of a tool_result block. */
export function toolResultText(b: ToolResultBlock): string {
  if (typeof b.content === "string") return b.content;
  return (b.content ?? []).map((c) => (typeof c.text === "string" ? c.text : "")).join("\n");
}

// ---------- classification ----------

export function classify(method: string, path: string, body: Record<string, unknown> | null): { kind: RequestKind; reason: string } {
  if (path === "/api/hello") return { kind: "hello", reason: "hello" };
  if (path === "/v1/messages/count_tokens") return { kind: "count_tokens", reason: "count_tokens path" };
  if (method !== "POST" || path !== "/v1/messages" || !body) return { kind: "other", reason: "not POST /v1/messages" };
  const req = { body } as RecordedRequest;
  const tools = toolNames(req);
  const format = isObj(body.output_config) && isObj(body.output_config.format) ? body.output_config.format : undefined;
  if (format?.type === "json_schema" && tools.length === 0) {
    const props = isObj(format.schema) && isObj(format.schema.properties) ? format.schema.properties : {};
    return "title" in props ? { kind: "title", reason: "json_schema output with a title property" } : { kind: "other", reason: "json_schema output, no tools" };
  }
  const sys = systemText(req);
  if (sys.includes("You are a security monitor")) return { kind: "classifier", reason: "security monitor system prompt" };
  if (tools.length > 0) return { kind: "turn", reason: `tools offered (${tools.length})` };
  const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 0;
  const model = typeof body.model === "string" ? body.model : "";
  if (maxTokens > 0 && maxTokens < 4096) return { kind: "other", reason: `no tools, small max_tokens ${maxTokens}` };
  if (/haiku/i.test(model)) return { kind: "other", reason: "no tools, haiku model" };
  if (isObj(body.thinking) || isObj(body.context_management)) return { kind: "turn", reason: "no tools, but main-loop shape (thinking/context_management)" };
  return { kind: "other", reason: "no tools" };
}

// ---------- side replies ----------

function instanceOf(schema: unknown, key: string, title: string): unknown {
  if (!isObj(schema)) return null;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ("const" in schema) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const props = isObj(schema.properties) ? schema.properties : {};
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(props)) out[k] = instanceOf(v, k, title);
      return out;
    }
    case "array":
      return [];
    case "string":
      return key === "title" ? title : "test";
    case "number":
    case "integer":
      return 0;
    case "boolean":
      return false;
    default:
      return null;
  }
}

function sideStep(kind: RequestKind, req: RecordedRequest, title: string, verdict: "allow" | "block", fallback: ReplyStep): StaticStep {
  const body = req.body ?? {};
  if (kind === "classifier") {
    const stops = Array.isArray(body.stop_sequences) ? body.stop_sequences : [];
    const severity = stops.includes("</severity>") || systemText(req).includes("<severity>");
    const usage = { input_tokens: 10, output_tokens: 5 };
    if (severity) {
      const text = verdict === "allow" ? "<severity>0" : "<severity>10";
      return stops.length > 0 ? { text, stopReason: "stop_sequence", stopSequence: "</severity>", usage } : { text: `${text}</severity>`, usage };
    }
    if (verdict === "allow") return stops.length > 0 ? { text: "<block>no", stopReason: "stop_sequence", stopSequence: "</block>", usage } : { text: "<block>no</block>", usage };
    return { text: "<block>yes</block><reason>Blocked by the test classifier</reason>", usage };
  }
  const format = isObj(body.output_config) && isObj(body.output_config.format) ? body.output_config.format : undefined;
  if (format?.type === "json_schema") return { text: JSON.stringify(instanceOf(format.schema, "", title)), usage: { input_tokens: 10, output_tokens: 5 } };
  return fallback;
}

// ---------- server ----------

interface Script {
  index: number;
  match: Matcher;
  steps: Step[];
  cursor: number;
  usedOfCursor: number;
  handle: ScriptHandle;
}

const stepTimes = (s: Step): number => (typeof s === "function" ? 1 : s.repeat ? Number.POSITIVE_INFINITY : Math.max(1, s.times ?? 1));

function matches(m: Matcher, text: string, req: RecordedRequest): boolean {
  if (typeof m === "string") return text.includes(m);
  if (m instanceof RegExp) return m.test(text);
  return m(text, req);
}

export async function startModelServer(opts: ModelServerOptions = {}): Promise<ModelServer> {
  const defaultReply: ReplyStep = opts.defaultReply ?? { text: "OK." };
  const log = opts.log ?? (process.env.MODEL_SERVER_DEBUG ? (l: string) => process.stderr.write(`[model-server] ${l}\n`) : () => {});
  let scripts: Script[] = [];
  const side = new Map<string, Step>();
  let seq = 0;
  const sockets = new Set<Socket>();

  function pick(req: RecordedRequest): { step: StaticStep; script?: Script; stepIndex?: number } {
    const text = req.conversation ?? "";
    for (const s of scripts) {
      if (s.cursor >= s.steps.length || !safeMatch(s.match, text, req)) continue;
      const raw = s.steps[s.cursor];
      const stepIndex = s.cursor;
      s.usedOfCursor++;
      if (s.usedOfCursor >= stepTimes(raw)) {
        s.cursor++;
        s.usedOfCursor = 0;
      }
      s.handle.requests.push(req);
      return { step: typeof raw === "function" ? raw(req) : raw, script: s, stepIndex };
    }
    return { step: defaultReply };
  }

  function safeMatch(m: Matcher, text: string, req: RecordedRequest): boolean {
    try {
      return matches(m, text, req);
    } catch {
      return false;
    }
  }

  async function answer(req: RecordedRequest, res: ServerResponse): Promise<void> {
    if (req.kind === "hello") {
      req.answer = { source: "fixed", status: 200 };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(req.method === "HEAD" ? undefined : JSON.stringify({ message: "hello" }));
      return;
    }
    if (req.kind === "count_tokens") {
      req.answer = { source: "fixed", status: 200 };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ input_tokens: Math.max(1, Math.ceil(req.rawBody.length / 4)) }));
      return;
    }
    if (req.method !== "POST" || req.path !== "/v1/messages") {
      req.answer = { source: "fixed", status: 404 };
      await writeError(res, { status: 404, message: `No fake for ${req.method} ${req.path}` }, "", false);
      return;
    }
    const body = req.body ?? {};
    const model = typeof body.model === "string" ? body.model : "claude-fake";
    const stream = body.stream === true;
    let step: StaticStep;
    if (req.kind === "turn") {
      const p = pick(req);
      step = p.step;
      req.answer = p.script ? { source: "script", status: 200, script: p.script.index, step: p.stepIndex } : { source: "default", status: 200 };
    } else {
      const custom = side.get(req.kind);
      step = custom ? (typeof custom === "function" ? custom(req) : custom) : sideStep(req.kind, req, opts.title ?? "Test session", server.classifier, defaultReply);
      req.answer = { source: "side", status: 200 };
    }
    if (isDropStep(step)) {
      req.answer.status = "dropped";
      if (step.delayMs) await sleep(step.delayMs);
      res.socket?.destroy();
      return;
    }
    if (isErrorStep(step)) {
      req.answer.status = step.error.inStream ? 200 : step.error.status;
      await writeError(res, step.error, model, stream);
      return;
    }
    if (step.dropAfterChunks !== undefined) req.answer.status = "dropped";
    const sg = Array.isArray(body.safeguards) && body.safeguards.some((x) => isObj(x) && x.type === "dangerous_tool_use");
    const safeguard = sg && step.safeguard !== false ? (step.safeguard ?? (server.classifier === "allow" ? "not_flagged" : "flagged")) : undefined;
    await writeReply(res, step, { model, safeguard }, stream);
  }

  const http = createServer((inc: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    inc.on("data", (c: Buffer) => chunks.push(c));
    inc.on("error", () => res.destroy());
    inc.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      let body: Record<string, unknown> | null = null;
      try {
        const parsed: unknown = rawBody ? JSON.parse(rawBody) : null;
        body = isObj(parsed) ? parsed : null;
      } catch {
        body = null;
      }
      const url = inc.url ?? "/";
      const path = url.split("?")[0];
      const method = inc.method ?? "GET";
      const { kind, reason } = classify(method, path, body);
      const req: RecordedRequest = { seq: ++seq, at: Date.now(), method, path, url, headers: inc.headers, body, rawBody, kind, reason, conversation: null };
      if (path === "/v1/messages") req.conversation = firstUserText(req);
      server.requests.push(req);
      answer(req, res)
        .catch((e: unknown) => {
          log(`#${req.seq} handler failed: ${String(e)}`);
          if (!res.headersSent) {
            res.writeHead(500, { "content-type": "application/json" });
            res.end(JSON.stringify({ type: "error", error: { type: "api_error", message: "fake server error" } }));
          } else res.destroy();
        })
        .finally(() => {
          const a = req.answer;
          log(`#${req.seq} ${method} ${url} kind=${kind} (${reason}) model=${String(body?.model ?? "")} max_tokens=${String(body?.max_tokens ?? "")} stream=${String(body?.stream ?? "")} -> ${a ? `${a.source}${a.script !== undefined ? ` script ${a.script} step ${a.step}` : ""} ${a.status}` : "?"} | ${JSON.stringify((req.conversation ?? "").slice(0, 80))}`);
        });
    });
  });
  http.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  http.on("clientError", (_e, s) => s.destroy());

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (http.address() as AddressInfo).port;

  const server: ModelServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: [],
    classifier: "allow",
    turnRequests(match?: Matcher) {
      return server.requests.filter((r) => r.kind === "turn" && (match === undefined || safeMatch(match, r.conversation ?? "", r)));
    },
    script(match: Matcher, steps: Step[]): ScriptHandle {
      const s: Script = {
        index: scripts.length,
        match,
        steps: [...steps],
        cursor: 0,
        usedOfCursor: 0,
        handle: {
          requests: [],
          get remaining() {
            return s.steps.length - s.cursor;
          },
          get done() {
            return s.cursor >= s.steps.length;
          },
          push: (...more: Step[]) => void s.steps.push(...more),
        },
      };
      scripts.push(s);
      return s.handle;
    },
    sideReply(kind, step) {
      if (step === undefined) side.delete(kind);
      else side.set(kind, step);
    },
    reset() {
      scripts = [];
      side.clear();
      server.requests.length = 0;
      server.classifier = "allow";
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        http.close(() => resolve());
      });
    },
  };
  return server;
}
