// Span attribute names: OpenTelemetry's gen_ai conventions where they fit, aegis.* for the rest.
// The gen_ai names are declared here because the semantic-conventions package marks them
// experimental (and moved) and advises copying rather than importing them.

export const GenAi = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  /** Superseded by gen_ai.provider.name; still read by many backends. */
  system: "gen_ai.system",
  agentName: "gen_ai.agent.name",
  conversationId: "gen_ai.conversation.id",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  finishReasons: "gen_ai.response.finish_reasons",
  /** All input tokens, cached ones included (the convention's definition, unlike Anthropic's input_tokens). */
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  cacheReadTokens: "gen_ai.usage.cache_read.input_tokens",
  cacheWriteTokens: "gen_ai.usage.cache_creation.input_tokens",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
} as const;

export const AegisAttr = {
  sessionId: "aegis.session.id",
  turnId: "aegis.turn.id",
  /** completed | failed | interrupted | abandoned (the session ended) | unfinished (the server stopped) */
  turnStatus: "aegis.turn.status",
  costUsd: "aegis.cost_usd",
  /** Anthropic's own input_tokens: input not read from or written to the cache. */
  uncachedInputTokens: "aegis.usage.uncached_input_tokens",
  /** auto (the permission mode let it run), policy_allow, policy_deny, approved, rejected, cancelled or expired: the metrics' vocabulary. */
  toolDecision: "aegis.tool.decision",
  /** Who decided: an API key id, policy or system; absent for auto. */
  toolDecidedBy: "aegis.tool.decided_by",
  approvalId: "aegis.approval.id",
  approvalWaitMs: "aegis.approval.wait_ms",
  toolDurationMs: "aegis.tool.duration_ms",
  /** success | error | unfinished (no result before the turn ended) */
  toolOutcome: "aegis.tool.outcome",
} as const;

/** The convention's error attribute: a stable code such as MODEL_API_ERROR. */
export const ERROR_TYPE = "error.type";

export const PROVIDER = "anthropic";
export const AGENT_NAME = "claude-code";
