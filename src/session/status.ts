// Session status: the public union, its allowed transitions and predicates.
import { z } from "zod";

export const SessionStatusSchema = z.enum(["starting", "idle", "working", "awaiting_approval", "stopped", "failed"]);
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

const TRANSITIONS: Record<SessionStatus, readonly SessionStatus[]> = {
  starting: ["idle", "working", "stopped", "failed"],
  idle: ["working", "starting", "stopped", "failed"],
  working: ["idle", "awaiting_approval", "starting", "stopped", "failed"],
  awaiting_approval: ["working", "idle", "starting", "stopped", "failed"],
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
