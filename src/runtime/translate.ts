// Maps Agent SDK messages to runtime events. Only what Aegis uses is read; the rest is ignored.
import type { SDKMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ModelUsage, RuntimeEvent, TokenUsage } from "./types";

function stringifyContent(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((b) =>
        b && typeof b === "object" && "text" in b ? String((b as { text: unknown }).text) : JSON.stringify(b),
      )
      .join("\n");
  }
  return content === undefined ? "" : JSON.stringify(content);
}

interface ModelUsageEntry {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
  costUSD?: number;
}

/**
 * Usage and cost since the previous result, summed over models. Claude Code states each model
 * call on exactly one result here, whatever a resume does to the cumulative `modelUsage`.
 */
function sinceLastResult(m: Extract<SDKMessage, { type: "result" }>) {
  const byModel = (m as { model_usage_since_last_result?: Record<string, ModelUsageEntry> })
    .model_usage_since_last_result;
  if (!byModel) return undefined;
  const usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  let costUsd = 0;
  const perModel: Record<string, ModelUsage> = {};
  for (const [model, u] of Object.entries(byModel)) {
    const m = {
      inputTokens: u.inputTokens ?? 0,
      outputTokens: u.outputTokens ?? 0,
      cacheReadTokens: u.cacheReadInputTokens ?? 0,
      cacheWriteTokens: u.cacheCreationInputTokens ?? 0,
      costUsd: u.costUSD ?? 0,
    };
    perModel[model] = m;
    usage.inputTokens += m.inputTokens;
    usage.outputTokens += m.outputTokens;
    usage.cacheReadTokens += m.cacheReadTokens;
    usage.cacheWriteTokens += m.cacheWriteTokens;
    costUsd += m.costUsd;
  }
  return { usage, costUsd, byModel: byModel as Record<string, unknown>, perModel };
}

/** The model response being streamed: message_delta carries no id or model, so each query remembers them. */
export interface StreamState {
  open: { id: string; model: string; usage: TokenUsage } | null;
}

export const newStreamState = (): StreamState => ({ open: null });

type StreamEvent = Extract<SDKMessage, { type: "stream_event" }>["event"];

/** The final usage of one API request: message_delta's cumulative counts over message_start's. */
function finishMessage(stream: StreamState, e: Extract<StreamEvent, { type: "message_delta" }>): RuntimeEvent[] {
  const open = stream.open;
  stream.open = null;
  if (!open) return [];
  const u = e.usage;
  const usage = {
    inputTokens: u.input_tokens ?? open.usage.inputTokens,
    outputTokens: u.output_tokens ?? open.usage.outputTokens,
    cacheReadTokens: u.cache_read_input_tokens ?? open.usage.cacheReadTokens,
    cacheWriteTokens: u.cache_creation_input_tokens ?? open.usage.cacheWriteTokens,
  };
  return [
    { type: "message_finished", messageId: open.id, model: open.model, stopReason: e.delta.stop_reason ?? null, usage },
  ];
}

export function translate(m: SDKMessage, stream: StreamState = newStreamState()): RuntimeEvent[] {
  switch (m.type) {
    case "system":
      if (m.subtype === "init") {
        return [{ type: "init", claudeSessionId: m.session_id, model: m.model, version: m.claude_code_version }];
      }
      if (m.subtype === "api_retry") {
        return [
          { type: "api_retry", attempt: m.attempt, maxRetries: m.max_retries, status: m.error_status, error: m.error },
        ];
      }
      return [];
    case "stream_event": {
      if (m.parent_tool_use_id) return [];
      const e = m.event;
      if (e.type === "message_start") {
        const u = e.message.usage;
        stream.open = {
          id: e.message.id,
          model: e.message.model,
          usage: {
            inputTokens: u.input_tokens ?? 0,
            outputTokens: u.output_tokens ?? 0,
            cacheReadTokens: u.cache_read_input_tokens ?? 0,
            cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
          },
        };
        return [{ type: "message_started", messageId: e.message.id }];
      }
      if (e.type === "message_delta") return finishMessage(stream, e);
      if (e.type === "content_block_delta" && e.delta.type === "text_delta") {
        return [{ type: "text_delta", messageId: "", text: e.delta.text }];
      }
      return [];
    }
    case "assistant": {
      const out: RuntimeEvent[] = [];
      const messageId = m.message.id;
      if (m.error) {
        const text = m.message.content.map((b) => (b.type === "text" ? b.text : "")).join("");
        return [{ type: "api_error", error: m.error, text }];
      }
      for (const block of m.message.content) {
        if (block.type === "text" && !m.parent_tool_use_id)
          out.push({ type: "assistant_text", messageId, text: block.text });
        if (block.type === "tool_use") {
          out.push({
            type: "tool_use",
            toolUseId: block.id,
            name: block.name,
            input: block.input as Record<string, unknown>,
          });
        }
      }
      return out;
    }
    case "user": {
      const content = m.message.content;
      if (!Array.isArray(content)) return [];
      const out: RuntimeEvent[] = [];
      for (const block of content) {
        if (block.type === "tool_result") {
          out.push({
            type: "tool_result",
            toolUseId: block.tool_use_id,
            output: stringifyContent(block.content),
            isError: block.is_error === true,
          });
        }
      }
      return out;
    }
    case "result": {
      const perTurn = sinceLastResult(m);
      const usage = perTurn?.usage ?? {
        inputTokens: m.usage.input_tokens ?? 0,
        outputTokens: m.usage.output_tokens ?? 0,
        cacheReadTokens: m.usage.cache_read_input_tokens ?? 0,
        cacheWriteTokens: m.usage.cache_creation_input_tokens ?? 0,
      };
      return [
        {
          type: "turn_result",
          ok: m.subtype === "success" && !m.is_error,
          subtype: m.subtype,
          text: m.subtype === "success" ? m.result : "",
          errors: m.subtype === "success" ? [] : m.errors,
          usage,
          costUsd: perTurn?.costUsd ?? 0,
          modelUsage: perTurn?.byModel ?? {},
          usageByModel: perTurn?.perModel ?? {},
          durationMs: m.duration_ms,
          durationApiMs: m.duration_api_ms,
          apiErrorStatus: m.subtype === "success" ? (m.api_error_status ?? null) : null,
        },
      ];
    }
    default:
      return [];
  }
}
