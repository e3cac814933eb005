import type { HookInput } from "../hooks/schema";
import { applyVerdict } from "./approvals";
import { noteFailure } from "./breaker";
import { type LiveSession, publish, type SessionContext } from "./context";
import { HookReceived, SessionNotified } from "./events";
import {
  finishTurn,
  type Observer,
  observedEnd,
  observedPermission,
  observedPrompt,
  observedSession,
  observedToolCall,
  observedToolResult,
} from "./observed";
import { isLive } from "./status";
import { sessionStore } from "./store";

export type HookResponse = Record<string, unknown>;

const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v ?? ""));
const asInput = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** `deadlineMs`: how long this hook call may be held (just under the hook's own timeout). */
export async function onHook(
  ctx: SessionContext,
  owner: Observer,
  h: HookInput,
  deadlineMs: number,
): Promise<HookResponse> {
  // A session Aegis started loads the project's settings too, hooks included. Aegis drives it already
  // (its tool calls reach canUseTool), so its hooks are acknowledged and nothing more: no second,
  // observed session beside it.
  const managed = await sessionStore.byClaudeSession(ctx.db, h.session_id, "managed");
  if (managed && isLive(managed.status)) return {};
  const live = await observedSession(ctx, owner, h.session_id, h.cwd);
  try {
    return await answer(ctx, live, h, deadlineMs);
  } catch (err) {
    // A hook that keeps failing on our side counts toward the breaker like a failing tool call.
    await noteFailure(ctx, live, `hook:${h.hook_event_name}`, `the ${h.hook_event_name} hook kept failing`).catch(
      (e: unknown) => ctx.log.error({ err: e, sessionId: live.id }, "could not count a failed hook toward the breaker"),
    );
    throw err;
  }
}

async function answer(ctx: SessionContext, live: LiveSession, h: HookInput, deadlineMs: number): Promise<HookResponse> {
  const call = { toolUseId: h.tool_use_id ?? "", toolName: h.tool_name ?? "", input: asInput(h.tool_input) };
  const stop = live.breaker.tripped
    ? {
        continue: false,
        stopReason: "Aegis stopped this session: its circuit breaker tripped; a person must look at it in Aegis.",
      }
    : undefined;

  switch (h.hook_event_name) {
    case "UserPromptSubmit":
      await observedPrompt(ctx, live, h.prompt ?? "");
      return stop ?? {};
    case "PreToolUse": {
      await observedToolCall(ctx, live, call);
      if (stop)
        return {
          ...stop,
          hookSpecificOutput: {
            hookEventName: "PreToolUse",
            permissionDecision: "deny",
            permissionDecisionReason: stop.stopReason,
          },
        };
      // The session's directory, not the hook's cwd: after a `cd`, relative rules still apply.
      const gate = ctx.policy ? await ctx.policy.decide(live.id, { ...call, workDir: live.workDir }) : undefined;
      if (!gate) return {};
      if (gate.decision !== "ask") {
        // Same path as a managed session: event, audit record, breaker.
        await applyVerdict(ctx, live, call, { ...gate, decision: gate.decision });
        if (gate.decision === "deny") {
          await observedToolResult(ctx, live, {
            toolUseId: call.toolUseId,
            output: `Denied by policy: ${gate.reason}`,
            isError: true,
          });
        }
      }
      // For "ask" Claude Code's own permission flow runs; when it would prompt, the call reaches us
      // as PermissionRequest and waits for an approval. (Answering "ask" here is terminal in -p mode.)
      if (gate.decision === "ask") return {};
      return {
        hookSpecificOutput: {
          hookEventName: "PreToolUse",
          permissionDecision: gate.decision,
          permissionDecisionReason: gate.reason,
        },
      };
    }
    case "PermissionRequest": {
      if (stop)
        return {
          ...stop,
          hookSpecificOutput: {
            hookEventName: "PermissionRequest",
            decision: { behavior: "deny", message: stop.stopReason },
          },
        };
      const deadline = AbortSignal.timeout(deadlineMs);
      const d = await observedPermission(ctx, live, live.workDir, call, deadline);
      // Nobody decided in time, or the session or the server is closing: Claude Code's own permission
      // prompt takes over.
      if (deadline.aborted || live.closing) return {};
      return {
        hookSpecificOutput: {
          hookEventName: "PermissionRequest",
          decision:
            d.behavior === "allow"
              ? { behavior: "allow", ...(d.updatedInput ? { updatedInput: d.updatedInput } : {}) }
              : { behavior: "deny", message: d.message },
        },
      };
    }
    case "PostToolUse":
      await observedToolResult(ctx, live, { toolUseId: call.toolUseId, output: text(h.tool_response), isError: false });
      return stop ?? {};
    case "PostToolUseFailure":
      await observedToolResult(ctx, live, { toolUseId: call.toolUseId, output: text(h.error), isError: true });
      return stop ?? {};
    case "Stop":
      await finishTurn(ctx, live, true, h.last_assistant_message ?? "");
      return {};
    case "StopFailure":
      await finishTurn(ctx, live, false, h.last_assistant_message ?? "", text(h.error));
      return {};
    case "SessionEnd":
      await observedEnd(ctx, live, h.reason ?? "session ended");
      return {};
    case "Notification":
      await publish(ctx, live.id, SessionNotified, {
        message: h.message ?? "",
        title: typeof h.title === "string" ? h.title : null,
        type: typeof h.notification_type === "string" ? h.notification_type : null,
      });
      return {};
    default:
      await publish(ctx, live.id, HookReceived, {
        event: h.hook_event_name,
        detail: { agentType: h.agent_type ?? null },
      });
      return stop ?? {};
  }
}
