// Session status: the public union, its allowed transitions and predicates.
import { z } from "zod";

export const SessionStatusSchema = z.enum([
  "starting",
  "idle",
  "working",
  "awaiting_approval",
  "budget_exceeded",
  "stopped",
  "failed",
]);
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

/**
 * budget_exceeded is live but blocked: the model gateway refused a request because a budget is used
 * up. Claude Code keeps running; the session stays budget_exceeded (a finished turn does not make it
 * idle) until a new prompt starts a turn (working again; refused again while the budget is used up),
 * or it is killed.
 */
const TRANSITIONS: Record<SessionStatus, readonly SessionStatus[]> = {
  starting: ["idle", "working", "budget_exceeded", "stopped", "failed"],
  idle: ["working", "starting", "budget_exceeded", "stopped", "failed"],
  working: ["idle", "awaiting_approval", "starting", "budget_exceeded", "stopped", "failed"],
  awaiting_approval: ["working", "idle", "starting", "budget_exceeded", "stopped", "failed"],
  budget_exceeded: ["working", "starting", "stopped", "failed"],
  stopped: [],
  failed: [],
};

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(status: SessionStatus): boolean {
  return status === "stopped" || status === "failed";
}

export function isLive(status: SessionStatus): boolean {
  return !isTerminal(status);
}

export const LIVE_STATUSES = SessionStatusSchema.options.filter(isLive);
