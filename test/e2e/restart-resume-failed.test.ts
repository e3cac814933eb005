// Restart where the resume fails: a session live at shutdown whose Claude Code conversation is
// gone ends `failed` with RESUME_FAILED after the next start, instead of hanging in `starting`.
import { readdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SseClient } from "../support/aegis";
import type { ClaudeEnv } from "../support/claude-env";
import type { ModelServer } from "../support/model-server";
import { processClient, useServerProcesses } from "../support/server-process";

const TOKEN = "restart-fail-admin-token-0123456789";
const { api, statusOf } = processClient(TOKEN);
let model: ModelServer;
let claude: ClaudeEnv;
const servers = useServerProcesses(TOKEN, (m, c) => {
  model = m;
  claude = c;
});

/** Claude Code's stored transcripts of one conversation, under CLAUDE_CONFIG_DIR/projects/<dir>/. */
function transcriptsOf(claudeSessionId: string): string[] {
  const projects = join(claude.configDir, "projects");
  return readdirSync(projects, { recursive: true, encoding: "utf8" })
    .filter((p) => p.endsWith(`${claudeSessionId}.jsonl`))
    .map((p) => join(projects, p));
}

describe("restart survival when the resume fails", () => {
  it("a session whose conversation is gone ends failed with RESUME_FAILED; its neighbour resumes", async () => {
    const dataDir = servers.dataDir("aegis-restart-fail-");
    model.script("resume-lost", [{ text: "Noted; this conversation will be lost." }]);
    model.script("resume-kept", [{ text: "Noted; this one stays." }]);

    const first = await servers.start(dataDir);
    const start = async (marker: string) => {
      const work = servers.tempDir(`aegis-${marker}-`);
      const created = await api(first.url, "POST", "/v1/sessions", { workDir: work, prompt: `${marker}: hello` });
      expect(created.status).toBe(201);
      // Idle after its first turn: the conversation started, so the next start must resume it.
      return statusOf(first.url, created.body.id, "idle");
    };
    const lost = await start("resume-lost");
    const kept = await start("resume-kept");

    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    const files = transcriptsOf(lost.claudeSessionId);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) rmSync(f);
    expect(transcriptsOf(kept.claudeSessionId).length).toBeGreaterThan(0);

    const second = await servers.start(dataDir);
    const failed = await statusOf(second.url, lost.id, "failed");
    expect(failed.error.code).toBe("RESUME_FAILED");
    expect(failed.error.message).toContain("Claude Code could not start");
    expect(failed.error.message).toContain(`No conversation found with session ID: ${lost.claudeSessionId}`);
    const resumed = await statusOf(second.url, kept.id, "idle");
    expect(resumed.error).toBeNull();

    // The failure is on record: the status change and session.ended carry the code; the resume was audited.
    const stream = new SseClient(`${second.url}/v1/sessions/${lost.id}/events?after=0`, {
      authorization: `Bearer ${TOKEN}`,
    });
    const ended = await stream.waitForType("session.ended");
    stream.close();
    expect(ended.data.data).toMatchObject({ status: "failed", error: { code: "RESUME_FAILED" } });
    const changed = stream.of("session.status_changed").map((e) => e.data.data);
    expect(changed.slice(-2)).toMatchObject([
      { to: "starting", reason: "server restarted" },
      { from: "starting", to: "failed", reason: "RESUME_FAILED" },
    ]);
    const audit = await api(second.url, "GET", `/v1/audit?sessionId=${lost.id}&action=session.resume`);
    expect(audit.body.items).toHaveLength(1);
    const sent = await api(second.url, "POST", `/v1/sessions/${lost.id}/messages`, { text: "are you there?" });
    expect(sent.status).toBe(409);
    expect(sent.body.error.code).toBe("SESSION_NOT_LIVE");
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("started while Claude Code is missing, live sessions wait in starting and resume once it is back", async () => {
    const dataDir = servers.dataDir("aegis-restart-nobin-");
    model.script("nobin", [{ text: "First answer." }, { text: "Answer after the binary came back." }]);
    const first = await servers.start(dataDir);
    const work = servers.tempDir("aegis-nobin-");
    const created = await api(first.url, "POST", "/v1/sessions", { workDir: work, prompt: "nobin: hello" });
    const id = created.body.id;
    await statusOf(first.url, id, "idle");
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    // The configured binary is not there when the server starts again.
    const bin = join(servers.tempDir("aegis-nobin-bin-"), "claude");
    const second = await servers.start(dataDir, { AEGIS_CLAUDE_PATH: bin, AEGIS_RUNTIME__RECHECK_MS: "200" });
    const waiting = await statusOf(second.url, id, "starting");
    expect(waiting.error).toBeNull();
    const sse = SseClient.admin(
      { url: second.url, adminToken: TOKEN } as never,
      `${second.url}/v1/sessions/${id}/events`,
    );
    const change = await sse.waitForType("session.status_changed", (d) => d.to === "starting");
    expect(change.data.data.reason).toContain("waiting for Claude Code");
    // A prompt sent meanwhile waits with the session.
    const queued = await api(second.url, "POST", `/v1/sessions/${id}/messages`, { text: "nobin: again" });
    expect(queued.status).toBe(202);
    expect((await api(second.url, "GET", "/v1/ready")).status).toBe(503);

    symlinkSync(claude.claudePath, bin);
    await sse.waitForType("message.completed", (d) => d.text === "Answer after the binary came back.");
    expect(await statusOf(second.url, id, "idle")).toMatchObject({ error: null });
    // The resumed conversation goes on: the model sees the first exchange.
    const last = model.turnRequests("nobin").at(-1);
    expect(JSON.stringify(last?.body?.messages)).toContain("First answer.");
    sse.close();
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
