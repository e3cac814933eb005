// A new managed session's record, from the create request and the server's defaults.
import { randomUUID } from "node:crypto";
import type { Principal } from "../auth";
import { newId } from "../core/ids";
import type { SessionContext } from "./context";
import type { CreateSessionInput } from "./schema";
import type { SessionRecord } from "./store";

export function newSessionRecord(
  ctx: Pick<SessionContext, "clock" | "config">,
  input: CreateSessionInput,
  owner: Principal,
  workDir: string,
): SessionRecord {
  const now = ctx.clock.now().toISOString();
  return {
    id: newId("ses"),
    tenant: owner.tenant,
    ownerKeyId: owner.keyId,
    kind: "managed",
    attention: null,
    name: input.name ?? null,
    status: "starting",
    workDir,
    parentId: input.parentId ?? null,
    // Resuming continues that conversation; a new one gets an id of its own.
    claudeSessionId: input.resume ?? randomUUID(),
    conversationStarted: input.resume !== undefined,
    model: input.model ?? ctx.config.sessions.defaultModel ?? null,
    permissionMode: input.permissionMode ?? ctx.config.sessions.defaultPermissionMode,
    options: {
      allowedTools: input.allowedTools,
      disallowedTools: input.disallowedTools,
      appendSystemPrompt: input.appendSystemPrompt,
      env: input.env,
      maxTurns: input.maxTurns,
      maxBudgetUsd: input.maxBudgetUsd,
    },
    totals: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 },
    error: null,
    createdAt: now,
    updatedAt: now,
    lastActivityAt: now,
  };
}
