// Gives the whole test run one temporary directory (TMPDIR for every worker and every Claude Code
// process it starts) and removes it at the end, so runs leave nothing behind in /tmp.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "aegis-test-run-"));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
