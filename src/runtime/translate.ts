// Maps Agent SDK messages to runtime events. Only what Aegis uses is read; the rest is ignored.
import type { SDKMessage } from "@anthropic-ai/claude-agent-sdk";
import type { RuntimeEvent } from "./types";

function stringifyContent(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((b) => (b && typeof b === "object" && "text" in b ? String((b as { text: unknown }).text) : JSON.stringify(b)))
      .join("\n");
  }
  return content === undefined ? "" : JSON.stringify(content);
}

export function translate(m: SDKMessage): RuntimeEvent[] {
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
      if (e.type === "message_start") return [{ type: "message_started", messageId: e.message.id }];
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
        if (block.type === "text" && !m.parent_tool_use_id) out.push({ type: "assistant_text", messageId, text: block.text });
        if (block.type === "tool_use") {
          out.push({ type: "tool_use", toolUseId: block.id, name: block.name, input: block.input as Record<string, unknown> });
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
      const usage = m.usage;
      return [
        {
          type: "turn_result",
          ok: m.subtype === "success" && !m.is_error,
          subtype: m.subtype,
          text: m.subtype === "success" ? m.result : "",
          errors: m.subtype === "success" ? [] : m.errors,
          usage: {
            inputTokens: usage.input_tokens ?? 0,
            outputTokens: usage.output_tokens ?? 0,
            cacheReadTokens: usage.cache_read_input_tokens ?? 0,
            cacheWriteTokens: usage.cache_creation_input_tokens ?? 0,
          },
          costUsd: m.total_cost_usd,
          modelUsage: m.modelUsage as Record<string, unknown>,
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
