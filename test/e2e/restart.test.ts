// Restart survival: sessions live when the server stopped (SIGTERM or kill -9) are resumed.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ClaudeEnv } from "../support/claude-env";
import type { ModelServer } from "../support/model-server";
import { processClient, useServerProcesses } from "../support/server-process";
import { until } from "../support/until";

type Json = Record<string, any>;
const TOKEN = "restart-test-admin-token-0123456789";
const { api, statusOf } = processClient(TOKEN);
let model: ModelServer;
let claude: ClaudeEnv;
const servers = useServerProcesses(TOKEN, (m, c) => {
  model = m;
  claude = c;
});

/** Claude Code processes of one session: its Claude Code session id is on their command line. */
const claudeProcesses = (claudeSessionId: string) => {
  try {
    return execFileSync("pgrep", ["-f", claudeSessionId], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
};

async function scenario(signal: "SIGTERM" | "SIGKILL", marker: string) {
  const dataDir = servers.dataDir("aegis-restart-");
  const work = servers.tempDir("aegis-restart-wd-");
  const script = model.script(marker, [
    { text: `The secret word is ${marker.toUpperCase()}-PINEAPPLE.` },
    {
      text: "I will write a file.",
      toolUse: { name: "Write", input: { file_path: join(work, "x.txt"), content: "x" } },
    },
    { text: "after restart" },
  ]);

  const first = await servers.start(dataDir, {
    AEGIS_RUNTIME__ENV: JSON.stringify(claude.env),
  });
  const created = await api(first.url, "POST", "/v1/sessions", {
    workDir: work,
    name: marker,
    prompt: `${marker}: remember the word`,
  });
  expect(created.status).toBe(201);
  const id = created.body.id;
  await statusOf(first.url, id, "idle");
  // leave a tool call waiting for approval when the server goes away
  await api(first.url, "POST", `/v1/sessions/${id}/messages`, { text: `${marker}: write it down` });
  const waiting = await statusOf(first.url, id, "awaiting_approval");
  const approvalId = waiting.pendingApprovals[0].id;
  expect(claudeProcesses(created.body.claudeSessionId).length).toBeGreaterThan(0);

  first.child.kill(signal);
  const code = await first.exited;
  if (signal === "SIGTERM") expect(code).toBe(0);
  await until(
    "claude processes to exit",
    async () => (claudeProcesses(created.body.claudeSessionId).length === 0 ? true : undefined),
    15_000,
  );

  const second = await servers.start(dataDir);
  const resumed = await statusOf(second.url, id, "idle");
  expect(resumed).toMatchObject({ id, name: marker, pendingApprovals: [], error: null });
  const transcript = await api(second.url, "GET", `/v1/sessions/${id}/transcript`);
  expect(transcript.body.items.map((i: Json) => i.kind).slice(0, 2)).toEqual(["user", "assistant"]);
  // The tool call that waited for approval never ran: closed, not left `running` for good, and the
  // turn it was in has an end a reader can see.
  const tools = transcript.body.items.filter((i: Json) => i.kind === "tool");
  const errors = transcript.body.items.filter((i: Json) => i.kind === "error").map((i: Json) => i.data.code);
  if (signal === "SIGKILL") {
    expect(tools.map((i: Json) => [i.data.status, i.data.result])).toEqual([
      ["cancelled", "the server restarted during this turn"],
    ]);
    expect(errors).toEqual(["SERVER_RESTARTED"]);
  } else {
    // SIGTERM interrupted the turn before stopping Claude Code: Claude Code closed the call itself,
    // and the turn's end was stored before the server went.
    expect(tools.map((i: Json) => i.data.status)).toEqual(["error"]);
    expect(errors).toEqual(["SERVER_STOPPED"]);
  }
  // Its approval expired at the start: an automatic decision, in the transcript like a timeout's.
  const decisions = transcript.body.items.filter((i: Json) => i.kind === "approval").map((i: Json) => i.data.decision);
  expect(decisions).toEqual(["expired"]);
  const metrics = await api(second.url, "GET", `/v1/sessions/${id}/metrics`);
  expect(metrics.body.approvals).toMatchObject({ total: 1, expired: 1 });
  expect(metrics.body.turns.interrupted).toBe(1);

  const sent = await api(second.url, "POST", `/v1/sessions/${marker}/messages`, {
    text: `${marker}: what was the word?`,
  });
  expect(sent.status).toBe(202);
  const followUp = await until("the follow-up turn", async () =>
    model.turnRequests(marker).find((r) => JSON.stringify(r.body?.messages).includes(`${marker}: what was the word?`)),
  );
  const seen = JSON.stringify(followUp.body?.messages);
  expect(seen).toContain(`${marker.toUpperCase()}-PINEAPPLE`);
  // the model learned that the tool call waiting at the restart did not run
  expect(seen).toMatch(/"tool_result","content":"[^"]*(closed|interrupt|reject|denied)[^"]*","is_error":true/i);
  expect(script.requests.length).toBeGreaterThanOrEqual(2);
  expect(approvalId).toMatch(/^apr_/);

  second.child.kill("SIGTERM");
  expect(await second.exited).toBe(0);
}

describe("restart survival", () => {
  it("after kill -9 of the server, a restarted server resumes the session with its history", async () => {
    await scenario("SIGKILL", "restart-kill9");
  });

  it("after SIGTERM, Claude Code stops cleanly and the session resumes on the next start", async () => {
    await scenario("SIGTERM", "restart-term");
  });

  it("SIGTERM interrupts a running turn first: nothing Claude Code does after it goes unrecorded", async () => {
    const dataDir = servers.dataDir("aegis-restart-int-");
    const work = servers.tempDir("aegis-restart-intwd-");
    const late = join(work, "late.txt");
    // The reply (a Write that needs no approval in this mode) is slow to come.
    model.script("rt-int", [
      {
        text: "Writing it.",
        toolUse: { name: "Write", input: { file_path: late, content: "late" } },
        firstByteDelayMs: 1500,
      },
      { text: "Wrote it." },
    ]);
    const first = await servers.start(dataDir);
    const s = await api(first.url, "POST", "/v1/sessions", {
      workDir: work,
      prompt: "rt-int: write the file",
      permissionMode: "bypassPermissions",
    });
    expect(s.status).toBe(201);
    await until("the model to have the turn's request", async () =>
      model.turnRequests("rt-int").length ? true : undefined,
    );
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    await until(
      "claude processes to exit",
      async () => (claudeProcesses(s.body.claudeSessionId).length === 0 ? true : undefined),
      15_000,
    );
    // The slow reply was due while the server stopped: Claude Code never acted on it.
    expect(existsSync(late)).toBe(false);
    expect(model.turnRequests("rt-int")).toHaveLength(1);

    const second = await servers.start(dataDir);
    await statusOf(second.url, s.body.id, "idle");
    const transcript = await api(second.url, "GET", `/v1/sessions/${s.body.id}/transcript`);
    const items = transcript.body.items.map((i: Json) => (i.kind === "error" ? `error:${i.data.code}` : i.kind));
    expect(items).toEqual(["user", "error:SERVER_STOPPED"]);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("runs the prompts that were queued when the server stopped; one dropped by escape stays dropped", async () => {
    const dataDir = servers.dataDir("aegis-restart-q-");
    const first = await servers.start(dataDir);
    // A slow first turn in each session, so a follow-up waits in the queue behind it.
    model.script("rq-kept", [{ text: "slow one", delayMs: 60_000 }, { text: "the queued prompt ran" }]);
    model.script("rq-escaped", [{ text: "slow two", delayMs: 60_000 }, { text: "must never run" }]);
    const open = async (marker: string) => {
      const wd = servers.tempDir("aegis-restart-qwd-");
      const s = await api(first.url, "POST", "/v1/sessions", { workDir: wd, prompt: `${marker}: first` });
      expect(s.status).toBe(201);
      await statusOf(first.url, s.body.id, "working");
      const queued = await api(first.url, "POST", `/v1/sessions/${s.body.id}/messages`, { text: `${marker}: second` });
      expect(queued.body).toMatchObject({ queued: true, position: 1 });
      return s.body.id as string;
    };
    const kept = await open("rq-kept");
    const escaped = await open("rq-escaped");
    const esc = await api(first.url, "POST", `/v1/sessions/${escaped}/escape`);
    expect(esc.body.droppedMessages).toBe(1);
    const dropped = await api(first.url, "GET", `/v1/sessions/${escaped}/transcript`);
    expect(dropped.body.items.filter((i: Json) => i.kind === "user").map((i: Json) => i.data.dropped ?? null)).toEqual([
      null,
      "dropped by escape",
    ]);

    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    const second = await servers.start(dataDir);
    await until("the queued prompt to reach the model", async () =>
      model.turnRequests("rq-kept").find((r) => JSON.stringify(r.body?.messages).includes("rq-kept: second")),
    );
    await until("its reply", async () => {
      const t = await api(second.url, "GET", `/v1/sessions/${kept}/transcript`);
      return t.body.items.some((i: Json) => i.kind === "assistant" && i.data.text === "the queued prompt ran")
        ? true
        : undefined;
    });
    await statusOf(second.url, escaped, "idle");
    expect(
      model.turnRequests("rq-escaped").some((r) => JSON.stringify(r.body?.messages).includes("rq-escaped: second")),
    ).toBe(false);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
