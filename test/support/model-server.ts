// A scripted fake of the Anthropic Messages API, as Claude Code uses it.
// Tests run the real Claude Code binary with ANTHROPIC_BASE_URL = server.url.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { classify, firstUserText, isObj, type RecordedRequest, type SideKind, sideStep } from "./model-requests";
import { isDropStep, isErrorStep, type ReplyStep, type StaticStep, sleep, writeError, writeReply } from "./model-sse";

export type { HasBody, RecordedRequest, RequestKind, SideKind, ToolResultBlock } from "./model-requests";
export {
  classify,
  firstUserText,
  lastToolResult,
  lastUserText,
  messagesOf,
  systemText,
  toolNames,
  toolResultText,
} from "./model-requests";
export type { DropStep, ErrorSpec, ErrorStep, ReplyStep, StaticStep, ToolUseSpec, Usage } from "./model-sse";
export { errorBody } from "./model-sse";

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
  /**
   * Auto-mode verdict (default "allow"): sent as `safeguard_results` on replies with
   * tool calls when the request asks for the server-side check (`safeguards`), and
   * answered to local classifier requests. A step's `safeguard` overrides it.
   */
  classifier: "allow" | "block";
  /** Override the answer to a side request kind (compact, title, classifier, other); undefined restores the built-in one. */
  sideReply(kind: SideKind, step: Step | undefined): void;
  reset(): void;
  close(): Promise<void>;
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

const stepTimes = (s: Step): number =>
  typeof s === "function" ? 1 : s.repeat ? Number.POSITIVE_INFINITY : Math.max(1, s.times ?? 1);

function matches(m: Matcher, text: string, req: RecordedRequest): boolean {
  if (typeof m === "string") return text.includes(m);
  if (m instanceof RegExp) {
    m.lastIndex = 0;
    return m.test(text);
  }
  return m(text, req);
}

export async function startModelServer(opts: ModelServerOptions = {}): Promise<ModelServer> {
  const defaultReply: ReplyStep = opts.defaultReply ?? { text: "OK." };
  const log =
    opts.log ??
    (process.env.MODEL_SERVER_DEBUG ? (l: string) => process.stderr.write(`[model-server] ${l}\n`) : () => {});
  let scripts: Script[] = [];
  const side = new Map<string, Step>();
  let seq = 0;
  const sockets = new Set<Socket>();

  function pick(req: RecordedRequest): { step: StaticStep; script?: Script; stepIndex?: number } {
    const text = req.conversation ?? "";
    for (const s of scripts) {
      if (s.cursor >= s.steps.length || !safeMatch(s.match, text, req)) continue;
      const raw = s.steps[s.cursor];
      if (raw === undefined) continue;
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
      req.answer = p.script
        ? { source: "script", status: 200, script: p.script.index, step: p.stepIndex }
        : { source: "default", status: 200 };
    } else {
      const custom = side.get(req.kind);
      step = custom
        ? typeof custom === "function"
          ? custom(req)
          : custom
        : sideStep(req.kind, req, opts.title ?? "Test session", server.classifier, defaultReply);
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
    const sg =
      Array.isArray(body.safeguards) && body.safeguards.some((x) => isObj(x) && x.type === "dangerous_tool_use");
    const safeguard =
      sg && step.safeguard !== false
        ? (step.safeguard ?? (server.classifier === "allow" ? "not_flagged" : "flagged"))
        : undefined;
    await writeReply(res, step, { model, safeguard }, stream);
  }

  const http = createServer((inc: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    inc.on("data", (c: Buffer) => chunks.push(c));
    inc.on("error", () => res.destroy());
    res.on("error", () => {});
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
      const path = url.split("?")[0] ?? "/";
      const method = inc.method ?? "GET";
      const { kind, reason } = classify(method, path, body);
      const req: RecordedRequest = {
        seq: ++seq,
        at: Date.now(),
        receivedHr: performance.now(),
        method,
        path,
        url,
        headers: inc.headers,
        body,
        rawBody,
        kind,
        reason,
        conversation: null,
      };
      if (path === "/v1/messages") req.conversation = firstUserText(req);
      server.requests.push(req);
      answer(req, res)
        .catch((e: unknown) => {
          req.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
          log(`#${req.seq} handler failed: ${String(e)}`);
          if (!res.headersSent) {
            res.writeHead(500, { "content-type": "application/json" });
            res.end(JSON.stringify({ type: "error", error: { type: "api_error", message: "fake server error" } }));
          } else res.destroy();
        })
        .finally(() => {
          req.answeredHr = performance.now();
          const a = req.answer;
          log(
            `#${req.seq} ${method} ${url} kind=${kind} (${reason}) model=${String(body?.model ?? "")} max_tokens=${String(body?.max_tokens ?? "")} stream=${String(body?.stream ?? "")} -> ${a ? `${a.source}${a.script !== undefined ? ` script ${a.script} step ${a.step}` : ""} ${a.status}` : "?"} | ${JSON.stringify((req.conversation ?? "").slice(0, 80))}`,
          );
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
      return server.requests.filter(
        (r) => r.kind === "turn" && (match === undefined || safeMatch(match, r.conversation ?? "", r)),
      );
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
