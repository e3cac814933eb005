// Copies committed checkpoints to a file outside the database, so that truncating or rewriting
// the database (its checkpoints included) is still detected by whoever verifies against the file.
import { appendFile, open, readFile } from "node:fs/promises";
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
    // A line cut short (a crash or a full disk during an append) is not an anchor; the rest still are.
    const parsed = SignedCheckpointSchema.safeParse(parseOrUndefined(line));
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

function parseOrUndefined(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** Appends the checkpoints the file does not hold yet; returns how many. */
export async function syncAnchors(db: Db, file: string): Promise<number> {
  const anchors = await readAnchors(file);
  const last = anchors.at(-1)?.seq ?? 0;
  const fresh = (await auditStore.listCheckpoints(db, { afterSeq: last })).filter((c) => c.seq > last);
  if (fresh.length === 0) return 0;
  // After a torn last line, start on a line of its own: joined to the fragment, this one would be lost too.
  const lead = (await endsMidLine(file)) ? "\n" : "";
  await appendFile(file, lead + fresh.map((c) => `${JSON.stringify(c)}\n`).join(""), { mode: 0o600 });
  return fresh.length;
}

/** Whether the file's last byte is not a newline (an append cut short). */
async function endsMidLine(file: string): Promise<boolean> {
  const handle = await open(file, "r").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (!handle) return false;
  try {
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await handle.close();
  }
}
