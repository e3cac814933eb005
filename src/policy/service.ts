// Policy changes as units of work: validate, append a version, publish and audit together.
import type { z } from "zod";
import type { AuditActor } from "../core/audit";
import { event } from "../core/events";
import type { Tx } from "../store/tx";
import { PolicyErrors } from "./errors";
import { PolicyUpdated } from "./events";
import { type Policy, PolicySchema, type PolicyScope, type StoredPolicy } from "./schema";
import { policyStore } from "./store";

export interface PolicyIssue {
  /** Where, e.g. `rules[3].command.regex`. */
  path: string;
  message: string;
}

/** `["rules", 3, "command", "regex"]` -> `rules[3].command.regex`, with the rule's id when it has one. */
function issuePath(path: readonly PropertyKey[], input: unknown): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  const index = path[0] === "rules" ? path[1] : undefined;
  if (typeof index === "number" && input && typeof input === "object") {
    const id = (input as { rules?: Array<{ id?: unknown }> }).rules?.[index]?.id;
    if (typeof id === "string") out += ` (rule "${id}")`;
  }
  return out || "(policy)";
}

export function policyIssues(error: z.ZodError, input: unknown): PolicyIssue[] {
  return error.issues.map((i) => ({ path: issuePath(i.path, input), message: i.message }));
}

/** Validates a policy document; a bad one throws POLICY_INVALID naming the rule index and field. */
export function parsePolicy(input: unknown): Policy {
  const parsed = PolicySchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = policyIssues(parsed.error, input);
  const first = issues[0];
  throw PolicyErrors.invalid({
    message: `Invalid policy: ${first ? `${first.path}: ${first.message}` : "see details"}.`,
    details: { issues },
  });
}

/**
 * Sets (or, with `policy: null`, removes) a scope's policy as a new version, in the caller's unit of work:
 * `transact((tx) => savePolicy(tx, {...}))`. Emits policy.updated and audits policy.update.
 */
export async function savePolicy(
  tx: Tx,
  change: { scope: PolicyScope; policy: unknown; actor: AuditActor; at: string },
): Promise<StoredPolicy> {
  const policy = change.policy === null ? null : parsePolicy(change.policy);
  const stored = await policyStore.insert(tx.db, {
    scope: change.scope,
    policy,
    createdAt: change.at,
    createdBy: change.actor.keyId,
  });
  const summary = {
    scope: change.scope,
    version: stored.version,
    removed: policy === null,
    rules: policy?.rules.length ?? 0,
  };
  tx.emit(event(PolicyUpdated, change.scope.type === "session" ? change.scope.id : null, summary));
  tx.audit({
    actor: change.actor,
    action: policy === null ? "policy.delete" : "policy.update",
    target: { type: `${change.scope.type}_policy`, id: change.scope.id },
    params: { version: stored.version, rules: summary.rules, default: policy?.default ?? null },
    outcome: "ok",
  });
  return stored;
}
