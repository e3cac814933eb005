// Wire format of the fake Anthropic Messages API: step types, and rendering a
// step as a streamed (SSE) or non-streamed reply, or as an API error.
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";

export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  /** Sent as usage.output_tokens_details.thinking_tokens (part of output_tokens). */
  thinking_tokens?: number;
  /** Sent as usage.cache_creation (lifetime breakdown of cache_creation_input_tokens). */
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

export interface ToolUseSpec {
  name: string;
  input: unknown;
  id?: string;
}

/** How many requests a step answers before the script moves on (default 1). */
interface StepControl {
  /** Answer this many requests with the step; `Infinity` makes it persistent. */
  times?: number;
  /** Same as `times: Infinity`. */
  repeat?: boolean;
}

export type StopReason = "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "refusal" | "pause_turn";

export interface ReplyStep extends StepControl {
  text?: string;
  thinking?: string;
  /** Signature sent after the thinking text (default: random base64). */
  signature?: string;
  toolUse?: ToolUseSpec | ToolUseSpec[];
  usage?: Usage;
  /** Default: `tool_use` when toolUse is given, else `end_turn`. */
  stopReason?: StopReason;
  stopSequence?: string | null;
  /** Model name in the reply (default: the requested model). */
  model?: string;
  /** Delay between SSE events (for slow streams). Non-streamed: total delay. */
  delayMs?: number;
  /** Delay before the response headers are sent. */
  firstByteDelayMs?: number;
  /** Pieces each text / thinking / tool input is split into (default 3). */
  chunks?: number;
  /** Extra response headers, e.g. `anthropic-ratelimit-*`. */
  headers?: Record<string, string>;
  /** Destroy the connection after writing this many SSE events. */
  dropAfterChunks?: number;
  /**
   * Server-side auto-mode verdict for this reply's tool calls, sent as
   * `safeguard_results` when the request asked for `safeguards` (default:
   * the server's `classifier` setting). `false`: send none.
   */
  safeguard?: SafeguardOutcome | false;
}

export type SafeguardOutcome = "not_flagged" | "flagged";

export interface ErrorSpec {
  status: number;
  /** Anthropic error type; default derived from the status. */
  type?: string;
  message?: string;
  headers?: Record<string, string>;
  /** Answer 200, start the stream, then send an SSE `error` event. */
  inStream?: boolean;
}

export interface ErrorStep extends StepControl {
  error: ErrorSpec;
}

export interface DropStep extends StepControl {
  /** Destroy the connection without answering. */
  drop: true;
  delayMs?: number;
}

export type StaticStep = ReplyStep | ErrorStep | DropStep;

export type ContentBlock =
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown };

const ERROR_TYPES: Record<number, [string, string]> = {
  400: ["invalid_request_error", "Invalid request"],
  401: ["authentication_error", "invalid x-api-key"],
  403: ["permission_error", "Your API key does not have permission to use the specified resource."],
  404: ["not_found_error", "Not found"],
  413: ["request_too_large", "Request exceeds the maximum allowed number of bytes."],
  429: ["rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"],
  500: ["api_error", "Internal server error"],
  529: ["overloaded_error", "Overloaded"],
};

export function errorBody(spec: ErrorSpec): {
  type: "error";
  error: { type: string; message: string };
  request_id: string;
} {
  const fallback: [string, string] =
    spec.status >= 500 ? ["api_error", "Internal server error"] : ["invalid_request_error", "Invalid request"];
  const [defType, defMsg] = ERROR_TYPES[spec.status] ?? fallback;
  return {
    type: "error",
    error: { type: spec.type ?? defType, message: spec.message ?? defMsg },
    request_id: newId("req_"),
  };
}

export function newId(prefix: string): string {
  return prefix + randomBytes(12).toString("base64url");
}

export function isErrorStep(s: StaticStep): s is ErrorStep {
  return "error" in s && typeof s.error === "object" && s.error !== null;
}

export function isDropStep(s: StaticStep): s is DropStep {
  return "drop" in s && s.drop === true;
}

export function contentOf(step: ReplyStep): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  if (step.thinking !== undefined) {
    blocks.push({
      type: "thinking",
      thinking: step.thinking,
      signature: step.signature ?? randomBytes(48).toString("base64"),
    });
  }
  if (step.text !== undefined) blocks.push({ type: "text", text: step.text });
  const tools = step.toolUse === undefined ? [] : Array.isArray(step.toolUse) ? step.toolUse : [step.toolUse];
  for (const t of tools)
    blocks.push({ type: "tool_use", id: t.id ?? newId("toolu_"), name: t.name, input: t.input ?? {} });
  if (blocks.length === 0) blocks.push({ type: "text", text: "" });
  return blocks;
}

interface FullUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  output_tokens_details?: { thinking_tokens: number };
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

function fullUsage(step: ReplyStep, blocks: ContentBlock[]): FullUsage {
  let chars = 0;
  for (const b of blocks)
    chars +=
      b.type === "text" ? b.text.length : b.type === "thinking" ? b.thinking.length : JSON.stringify(b.input).length;
  return {
    input_tokens: step.usage?.input_tokens ?? 10,
    output_tokens: step.usage?.output_tokens ?? Math.max(1, Math.ceil(chars / 4)),
    cache_read_input_tokens: step.usage?.cache_read_input_tokens ?? 0,
    cache_creation_input_tokens: step.usage?.cache_creation_input_tokens ?? 0,
    ...(step.usage?.thinking_tokens !== undefined && {
      output_tokens_details: { thinking_tokens: step.usage.thinking_tokens },
    }),
    ...(step.usage?.cache_creation !== undefined && { cache_creation: step.usage.cache_creation }),
  };
}

/** Split by code points into at most n non-empty pieces. */
export function splitInto(s: string, n: number): string[] {
  const cps = Array.from(s);
  const parts = Math.max(1, Math.min(n, cps.length));
  const size = Math.ceil(cps.length / parts);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(""));
  return out.length > 0 ? out : [""];
}

export interface Rendered {
  message: {
    id: string;
    type: "message";
    role: "assistant";
    model: string;
    content: ContentBlock[];
    stop_reason: StopReason;
    stop_sequence: string | null;
    usage: FullUsage & { service_tier: string };
  };
  /** SSE events as [event name, data]. */
  events: Array<[string, unknown]>;
}

export interface RenderOptions {
  model: string;
  /** Verdict for the server-side classifier, when the request asked for one. */
  safeguard?: SafeguardOutcome;
}

function safeguardResults(content: ContentBlock[], outcome: SafeguardOutcome): unknown[] {
  const toolUses: Record<string, unknown> = {};
  for (const b of content) {
    if (b.type !== "tool_use") continue;
    toolUses[b.id] =
      outcome === "flagged"
        ? { type: "evaluated", outcome, explanation: "Blocked by the test classifier" }
        : { type: "evaluated", outcome };
  }
  return [{ type: "dangerous_tool_use", status: { type: "available", tool_uses: toolUses } }];
}

export function render(step: ReplyStep, opts: RenderOptions): Rendered {
  const requestedModel = opts.model;
  const content = contentOf(step);
  const usage = fullUsage(step, content);
  const stop: StopReason = step.stopReason ?? (content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
  const id = newId("msg_");
  const model = step.model ?? requestedModel;
  const message: Rendered["message"] = {
    id,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stop,
    stop_sequence: step.stopSequence ?? null,
    usage: { ...usage, service_tier: "standard" },
  };
  const n = Math.max(1, step.chunks ?? 3);
  const events: Array<[string, unknown]> = [];
  const ev = (type: string, data: Record<string, unknown>) => events.push([type, { type, ...data }]);
  ev("message_start", {
    message: {
      ...message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1, output_tokens_details: undefined, service_tier: "standard" },
    },
  });
  ev("ping", {});
  content.forEach((b, index) => {
    if (b.type === "thinking") {
      ev("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } });
      for (const p of splitInto(b.thinking, n))
        ev("content_block_delta", { index, delta: { type: "thinking_delta", thinking: p } });
      ev("content_block_delta", { index, delta: { type: "signature_delta", signature: b.signature } });
    } else if (b.type === "text") {
      ev("content_block_start", { index, content_block: { type: "text", text: "" } });
      for (const p of splitInto(b.text, n))
        ev("content_block_delta", { index, delta: { type: "text_delta", text: p } });
    } else {
      ev("content_block_start", { index, content_block: { type: "tool_use", id: b.id, name: b.name, input: {} } });
      ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } });
      for (const p of splitInto(JSON.stringify(b.input), Math.max(3, n)))
        ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: p } });
    }
    ev("content_block_stop", { index });
  });
  const safeguard =
    opts.safeguard && content.some((b) => b.type === "tool_use")
      ? { safeguard_results: safeguardResults(content, opts.safeguard) }
      : {};
  ev("message_delta", { delta: { stop_reason: stop, stop_sequence: step.stopSequence ?? null, ...safeguard }, usage });
  ev("message_stop", {});
  return { message, events };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function baseHeaders(extra: Record<string, string> | undefined, contentType: string): Record<string, string> {
  return {
    "content-type": contentType,
    "request-id": newId("req_"),
    "anthropic-organization-id": "00000000-0000-0000-0000-000000000000",
    ...extra,
  };
}

function alive(res: ServerResponse): boolean {
  return !res.destroyed && !res.writableEnded;
}

export async function writeReply(
  res: ServerResponse,
  step: ReplyStep,
  opts: RenderOptions,
  stream: boolean,
): Promise<void> {
  const { message, events } = render(step, opts);
  if (step.firstByteDelayMs) await sleep(step.firstByteDelayMs);
  if (!alive(res)) return;
  if (!stream) {
    if (step.delayMs) await sleep(step.delayMs);
    if (!alive(res)) return;
    res.writeHead(200, baseHeaders(step.headers, "application/json"));
    res.end(JSON.stringify(message));
    return;
  }
  res.writeHead(200, {
    ...baseHeaders(step.headers, "text/event-stream; charset=utf-8"),
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  let written = 0;
  for (const [name, data] of events) {
    if (!alive(res)) return;
    if (step.dropAfterChunks !== undefined && written >= step.dropAfterChunks) {
      res.socket?.destroy();
      return;
    }
    res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    written++;
    if (step.delayMs && written < events.length) await sleep(step.delayMs);
  }
  if (alive(res)) res.end();
}

export async function writeError(
  res: ServerResponse,
  spec: ErrorSpec,
  requestedModel: string,
  stream: boolean,
): Promise<void> {
  const body = errorBody(spec);
  if (!alive(res)) return;
  if (spec.inStream && stream) {
    const { events } = render({ text: "" }, { model: requestedModel });
    res.writeHead(200, {
      ...baseHeaders(spec.headers, "text/event-stream; charset=utf-8"),
      "cache-control": "no-cache",
    });
    for (const [name, data] of events.slice(0, 1)) res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    res.end(`event: error\ndata: ${JSON.stringify({ type: "error", error: body.error })}\n\n`);
    return;
  }
  res.writeHead(spec.status, { ...baseHeaders(spec.headers, "application/json"), "request-id": body.request_id });
  res.end(JSON.stringify(body));
}
