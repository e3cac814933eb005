// Shutting down: once it begins, no session starts (a create answers 503), so none is left running
// behind the server, and the sessions that were live stay resumable.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAegis, type TestAegis } from "../support/aegis";
import { type ModelServer, startModelServer } from "../support/model-server";
import { until } from "../support/until";

type Json = Record<string, any>;
let model: ModelServer;
beforeAll(async () => {
  model = await startModelServer();
});
afterAll(async () => {
  await model?.close();
});

/** Processes running for a Claude Code session id (it is on their command line). */
const processesOf = (claudeSessionId: string) => {
  try {
    return execFileSync("pgrep", ["-f", claudeSessionId], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
};

describe("shutdown", () => {
  it("refuses new sessions once shutdown begins, and leaves no Claude Code process behind", async () => {
    const aegis: TestAegis = await startAegis(model.url);
    model.script("shutdown-live", [{ text: "live before shutdown" }]);
    const live = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: mkdtempSync(join(tmpdir(), "aegis-shutdown-")),
      prompt: "shutdown-live: hi",
    });
    expect(live.status).toBe(201);
    await until("Claude Code to run", async () =>
      processesOf(live.body.claudeSessionId).length > 0 ? true : undefined,
    );
    const closing = aegis.app.close();
    // Sent while the sessions are being stopped and the HTTP server still answers.
    const lateDir = mkdtempSync(join(tmpdir(), "aegis-shutdown-late-"));
    const late = await aegis.api<Json>("POST", "/v1/sessions", { workDir: lateDir, prompt: "shutdown-late: hi" });
    expect(late.status).toBe(503);
    expect(late.body.error.code).toBe("SERVER_SHUTTING_DOWN");
    await closing;
    expect(processesOf(live.body.claudeSessionId)).toEqual([]);
    // Nothing of the refused session was stored: it is not among those the next start resumes.
    const db = new Database(join(aegis.dataDir, "aegis.db"), { readonly: true });
    const stored = db.prepare("select count(*) as n from sessions where work_dir = ?").get(lateDir) as { n: number };
    db.close();
    expect(stored.n).toBe(0);
    await aegis.close();
  });
});
