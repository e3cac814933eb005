// When a signed checkpoint is due: every N records or T seconds, whichever comes first.
import { z } from "zod";

export const CheckpointPolicySchema = z.object({
  everyRecords: z.int().positive().default(100).describe("Checkpoint once this many records are unsigned."),
  everySeconds: z
    .number()
    .positive()
    .default(60)
    .describe("Checkpoint new records once the last checkpoint is this old (needs a timer to fire when idle)."),
});
export type CheckpointPolicy = z.infer<typeof CheckpointPolicySchema>;

export interface CheckpointState {
  policy: CheckpointPolicy;
  /** Seq of the last record in the chain (0 when empty). */
  lastSeq: number;
  lastCheckpoint: { seq: number; time: string } | null;
}

/**
 * Due when there are records no checkpoint covers and either `everyRecords` of them have piled
 * up or the last checkpoint is `everySeconds` old. The first record ever is checkpointed at once,
 * which anchors the start of the chain.
 */
export function checkpointDue(state: CheckpointState, now: Date): boolean {
  const { policy, lastSeq, lastCheckpoint } = state;
  const coveredSeq = lastCheckpoint?.seq ?? 0;
  if (lastSeq <= coveredSeq) return false;
  if (lastCheckpoint === null) return true;
  if (lastSeq - coveredSeq >= policy.everyRecords) return true;
  const age = now.getTime() - Date.parse(lastCheckpoint.time);
  // An unparseable time, or one in the future after the clock stepped back, must not stall checkpointing.
  return Number.isNaN(age) || age < 0 || age >= policy.everySeconds * 1000;
}
