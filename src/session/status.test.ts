import { describe, expect, it } from "vitest";
import { canTransition, isLive, isTerminal, type SessionStatus, SessionStatusSchema } from "./status";

describe("session status transitions", () => {
  const table: Array<[SessionStatus, SessionStatus, boolean]> = [
    ["starting", "idle", true],
    ["starting", "failed", true],
    ["idle", "working", true],
    ["working", "awaiting_approval", true],
    ["awaiting_approval", "working", true],
    ["awaiting_approval", "idle", true],
    ["working", "idle", true],
    ["idle", "stopped", true],
    ["stopped", "idle", false],
    ["stopped", "starting", false],
    ["failed", "working", false],
    ["idle", "awaiting_approval", false],
    ["starting", "awaiting_approval", false],
    ["working", "budget_exceeded", true],
    ["idle", "budget_exceeded", true],
    ["budget_exceeded", "working", true],
    ["budget_exceeded", "stopped", true],
    // a turn that ends after a refusal leaves the session blocked, not idle
    ["budget_exceeded", "idle", false],
    ["budget_exceeded", "awaiting_approval", false],
    ["stopped", "budget_exceeded", false],
    ["failed", "budget_exceeded", false],
  ];
  it.each(table)("%s -> %s is %s", (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  it("terminal and live partition the statuses", () => {
    for (const s of SessionStatusSchema.options) expect(isTerminal(s)).toBe(!isLive(s));
    expect(SessionStatusSchema.options.filter(isTerminal)).toEqual(["stopped", "failed"]);
  });
});
