// Recorded requests of the fake Anthropic API: what Claude Code sent, how it
// was classified, helpers to read it, and the answers to side requests.
import type { IncomingHttpHeaders } from "node:http";
import type { ReplyStep, StaticStep } from "./model-sse";

/**
 * turn: main conversation (and subagent) requests, answered from scripts.
 * compact: the main loop asked to summarize the conversation (/compact or auto-compaction).
 * title: session-title request. classifier: local auto-mode classifier ("You are a security monitor").
 */
export type RequestKind = "turn" | "compact" | "title" | "classifier" | "count_tokens" | "hello" | "other";
export type SideKind = "compact" | "title" | "classifier" | "other";

export interface RecordedRequest {
  seq: number;
  at: number;
  /** `performance.now()` when the request was read, and when its answer ended (for latency breakdowns). */
  receivedHr: number;
  answeredHr?: number;
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
  answer?: {
    source: "script" | "default" | "side" | "fixed";
    status: number | "dropped";
    script?: number;
    step?: number;
  };
  /** Set when answering threw (e.g. a step function failed); the client got a 500. */
  error?: string;
}

// ---------- request helpers ----------

/** A recorded request, or anything with its parsed body. */
export type HasBody = Pick<RecordedRequest, "body">;

type Block = Record<string, unknown>;
interface Message {
  role: string;
  content: string | Block[];
}

export const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function messagesOf(req: HasBody | undefined): Message[] {
  const m = req?.body?.messages;
  if (!Array.isArray(m)) return [];
  return m.filter(
    (x): x is Message =>
      isObj(x) && typeof x.role === "string" && (typeof x.content === "string" || Array.isArray(x.content)),
  );
}

function blocksOf(m: Message): Block[] {
  return typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content.filter(isObj);
}

const stripReminders = (s: string) => s.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, "").trim();

/** Text of the first user message, system reminders stripped. */
export function firstUserText(req: HasBody | undefined): string {
  const first = messagesOf(req).find((m) => m.role === "user");
  if (!first) return "";
  return blocksOf(first)
    .map((b) => (b.type === "text" && typeof b.text === "string" ? stripReminders(b.text) : ""))
    .filter((t) => t !== "")
    .join("\n");
}

/** Text blocks of the last user message, joined. */
export function lastUserText(req: HasBody | undefined): string {
  const users = messagesOf(req).filter((m) => m.role === "user");
  const last = users[users.length - 1];
  if (!last) return "";
  return blocksOf(last)
    .map((b) => (b.type === "text" && typeof b.text === "string" ? b.text : ""))
    .filter((t) => t !== "")
    .join("\n");
}

/** System prompt as one string. */
export function systemText(req: HasBody | undefined): string {
  const s = req?.body?.system;
  if (typeof s === "string") return s;
  if (!Array.isArray(s)) return "";
  return s.map((b) => (isObj(b) && typeof b.text === "string" ? b.text : "")).join("\n");
}

export function toolNames(req: HasBody | undefined): string[] {
  const t = req?.body?.tools;
  return Array.isArray(t) ? t.map((x) => (isObj(x) && typeof x.name === "string" ? x.name : "?")) : [];
}

export interface ToolResultBlock {
  type: "tool_result";
  tool_use_id: string;
  content?: string | Block[];
  is_error?: boolean;
}

/** tool_result blocks of the last user message of a request. */
export function lastToolResult(req: HasBody | undefined): ToolResultBlock[] {
  const users = messagesOf(req).filter((m) => m.role === "user");
  const last = users[users.length - 1];
  if (!last) return [];
  return blocksOf(last).filter(
    (b): b is Block & ToolResultBlock => b.type === "tool_result" && typeof b.tool_use_id === "string",
  );
}

/** Flattened text of a tool_result block. */
export function toolResultText(b: ToolResultBlock | undefined): string {
  if (b === undefined) return "";
  if (typeof b.content === "string") return b.content;
  return (b.content ?? []).map((c) => (typeof c.text === "string" ? c.text : "")).join("\n");
}

// ---------- classification ----------

export function classify(
  method: string,
  path: string,
  body: Record<string, unknown> | null,
): { kind: RequestKind; reason: string } {
  if (path === "/api/hello") return { kind: "hello", reason: "hello" };
  if (path === "/v1/messages/count_tokens") return { kind: "count_tokens", reason: "count_tokens path" };
  if (method !== "POST" || path !== "/v1/messages" || !body) return { kind: "other", reason: "not POST /v1/messages" };
  const req = { body };
  const tools = toolNames(req);
  const format = isObj(body.output_config) && isObj(body.output_config.format) ? body.output_config.format : undefined;
  if (format?.type === "json_schema" && tools.length === 0) {
    const props = isObj(format.schema) && isObj(format.schema.properties) ? format.schema.properties : {};
    return "title" in props
      ? { kind: "title", reason: "json_schema output with a title property" }
      : { kind: "other", reason: "json_schema output, no tools" };
  }
  const sys = systemText(req);
  if (sys.includes("You are a security monitor"))
    return { kind: "classifier", reason: "security monitor system prompt" };
  if (/Your task is to create a detailed summary of the conversation so far/.test(lastUserText(req)))
    return { kind: "compact", reason: "summary instruction in last user message" };
  if (tools.length > 0) return { kind: "turn", reason: `tools offered (${tools.length})` };
  const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 0;
  const model = typeof body.model === "string" ? body.model : "";
  if (maxTokens > 0 && maxTokens < 4096) return { kind: "other", reason: `no tools, small max_tokens ${maxTokens}` };
  if (/haiku/i.test(model)) return { kind: "other", reason: "no tools, haiku model" };
  if (isObj(body.thinking) || isObj(body.context_management))
    return { kind: "turn", reason: "no tools, but main-loop shape (thinking/context_management)" };
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

export function sideStep(
  kind: RequestKind,
  req: RecordedRequest,
  title: string,
  verdict: "allow" | "block",
  fallback: ReplyStep,
): StaticStep {
  const body = req.body ?? {};
  if (kind === "classifier") {
    const stops = Array.isArray(body.stop_sequences) ? body.stop_sequences : [];
    const severity = stops.includes("</severity>") || systemText(req).includes("<severity>");
    const usage = { input_tokens: 10, output_tokens: 5 };
    if (severity) {
      const text = verdict === "allow" ? "<severity>0" : "<severity>10";
      return stops.length > 0
        ? { text, stopReason: "stop_sequence", stopSequence: "</severity>", usage }
        : { text: `${text}</severity>`, usage };
    }
    if (verdict === "allow")
      return stops.length > 0
        ? { text: "<block>no", stopReason: "stop_sequence", stopSequence: "</block>", usage }
        : { text: "<block>no</block>", usage };
    return { text: "<block>yes</block><reason>Blocked by the test classifier</reason>", usage };
  }
  if (kind === "compact") {
    // Keep the conversation's first user text in the summary: it becomes the first user
    // message after compaction, so substring scripts keep matching.
    const text = `<analysis>Test compaction.</analysis>\n<summary>\nSummary of the conversation that began with: ${req.conversation ?? ""}\n</summary>`;
    return { text, usage: { input_tokens: 10, output_tokens: 20 } };
  }
  const format = isObj(body.output_config) && isObj(body.output_config.format) ? body.output_config.format : undefined;
  if (format?.type === "json_schema")
    return {
      text: JSON.stringify(instanceOf(format.schema, "", title)),
      usage: { input_tokens: 10, output_tokens: 5 },
    };
  return fallback;
}
