// Copies committed checkpoints to a file outside the database, so that truncating or rewriting
// the database (its checkpoints included) is still detected by whoever verifies against the file.
import { appendFile, readFile } from "node:fs/promises";
import type { Db } from "../store/db";
import { type SignedCheckpoint, SignedCheckpointSchema } from "./schema";
import { auditStore } from "./store";

export async function readAnchors(file: string): Promise<SignedCheckpoint[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: SignedCheckpoint[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const parsed = SignedCheckpointSchema.safeParse(JSON.parse(line));
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

/** Appends the checkpoints the file does not hold yet; returns how many. */
export async function syncAnchors(db: Db, file: string): Promise<number> {
  const anchors = await readAnchors(file);
  const last = anchors.at(-1)?.seq ?? 0;
  const fresh = (await auditStore.listCheckpoints(db, { afterSeq: last })).filter((c) => c.seq > last);
  if (fresh.length === 0) return 0;
  await appendFile(file, fresh.map((c) => `${JSON.stringify(c)}\n`).join(""), { mode: 0o600 });
  return fresh.length;
}
