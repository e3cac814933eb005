import { describe, expect, it } from "vitest";
import { CheckpointPolicySchema, type CheckpointState, checkpointDue } from "./checkpoint-policy";

const policy = CheckpointPolicySchema.parse({ everyRecords: 10, everySeconds: 60 });
const NOW = new Date("2026-01-01T12:00:00.000Z");
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

describe("checkpointDue", () => {
  it.each<[string, Omit<CheckpointState, "policy">, boolean]>([
    ["empty chain", { lastSeq: 0, lastCheckpoint: null }, false],
    ["first record ever", { lastSeq: 1, lastCheckpoint: null }, true],
    ["head already checkpointed", { lastSeq: 20, lastCheckpoint: { seq: 20, time: ago(3600) } }, false],
    ["few new records, recent checkpoint", { lastSeq: 25, lastCheckpoint: { seq: 20, time: ago(10) } }, false],
    ["everyRecords reached", { lastSeq: 30, lastCheckpoint: { seq: 20, time: ago(1) } }, true],
    ["everyRecords exceeded", { lastSeq: 45, lastCheckpoint: { seq: 20, time: ago(1) } }, true],
    ["one short of everyRecords", { lastSeq: 29, lastCheckpoint: { seq: 20, time: ago(59) } }, false],
    ["everySeconds reached", { lastSeq: 21, lastCheckpoint: { seq: 20, time: ago(60) } }, true],
    ["checkpoint time in the future", { lastSeq: 21, lastCheckpoint: { seq: 20, time: ago(-300) } }, true],
    ["unparseable checkpoint time", { lastSeq: 21, lastCheckpoint: { seq: 20, time: "garbage" } }, true],
  ])("%s → %s", (_name, state, due) => {
    expect(checkpointDue({ policy, ...state }, NOW)).toBe(due);
  });

  it("has defaults", () => {
    expect(CheckpointPolicySchema.parse({})).toEqual({ everyRecords: 100, everySeconds: 60 });
  });
});
