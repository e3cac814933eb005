// Observed sessions across a server restart: a PermissionRequest hook held at shutdown is answered
// (not left hanging), and the next start settles its approval as expired and leaves the session idle.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SseClient } from "../support/aegis";
import { processClient, type ServerProcess, startServerProcess, writeConfig } from "../support/server-process";
import { until } from "../support/until";

type Json = Record<string, any>;
const TOKEN = "hooks-restart-admin-token-0123456789";
const { api } = processClient(TOKEN);
const running: ServerProcess[] = [];
const cleanup: string[] = [];

afterAll(() => {
  for (const p of running) p.child.kill("SIGKILL");
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

const hook = (base: string, secret: string, body: Json) =>
  fetch(`${base}/v1/hooks/${body.hook_event_name}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-aegis-hook-secret": secret },
    body: JSON.stringify(body),
  });

describe("observed sessions across a restart", () => {
  it("answers a held permission hook on SIGTERM, then expires its approval and idles the session on start", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "aegis-hooks-restart-"));
    cleanup.push(dataDir);
    writeConfig(dataDir, {
      port: 0,
      logLevel: "warn",
      auth: { token: TOKEN },
      security: { allowedWorkDirs: [tmpdir()] },
      hooks: { timeoutSeconds: 120 },
    });
    const first = await startServerProcess(dataDir);
    running.push(first);
    const inst = await api(first.url, "POST", "/v1/hooks/installations", { name: "restart" });
    const base = { session_id: "99999999-aaaa-bbbb-cccc-000000000001", cwd: tmpdir() };
    const call = {
      tool_name: "Write",
      tool_use_id: "toolu_restart",
      tool_input: { file_path: "/tmp/x", content: "x" },
    };
    expect(
      (await hook(first.url, inst.body.secret, { ...base, hook_event_name: "UserPromptSubmit", prompt: "hi" })).status,
    ).toBe(200);
    // A Bash call under way when the server goes: its end comes in only after the restart.
    const bash = { tool_name: "Bash", tool_use_id: "toolu_bash", tool_input: { command: "echo ok" } };
    expect((await hook(first.url, inst.body.secret, { ...base, hook_event_name: "PreToolUse", ...bash })).status).toBe(
      200,
    );
    const held = hook(first.url, inst.body.secret, { ...base, hook_event_name: "PermissionRequest", ...call });
    const session = await until("the observed session", async () => {
      const l = await api(first.url, "GET", "/v1/sessions?limit=200");
      return l.body.items.find((s: Json) => s.claudeSessionId === base.session_id && s.status === "awaiting_approval");
    });
    const approval = (await api(first.url, "GET", `/v1/approvals?sessionId=${session.id}&status=pending`)).body
      .items[0];
    expect(approval).toMatchObject({ toolName: "Write", status: "pending" });

    // The hook would otherwise be held for ~115 s; shutdown answers it at once, with no decision.
    const stopping = Date.now();
    first.child.kill("SIGTERM");
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({});
    expect(await first.exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(20_000);

    const second = await startServerProcess(dataDir);
    running.push(second);
    const after = await api(second.url, "GET", `/v1/approvals/${approval.id}`);
    expect(after.body).toMatchObject({ status: "expired", decidedBy: "system" });
    expect(after.body.message).toContain("restarted");
    const s = await api(second.url, "GET", `/v1/sessions/${session.id}`);
    expect(s.body).toMatchObject({ status: "idle", pendingApprovals: [] });
    const events = new SseClient(`${second.url}/v1/sessions/${session.id}/events?after=0`, {
      authorization: `Bearer ${TOKEN}`,
    });
    try {
      const resolved = await events.waitForType("approval.resolved", (d) => d.approvalId === approval.id, 10_000);
      expect(resolved.data.data).toMatchObject({ status: "expired", toolName: "Write" });
      await events.waitForType(
        "session.status_changed",
        (d) => d.from === "awaiting_approval" && d.to === "idle",
        10_000,
      );
    } finally {
      events.close();
    }
    // The expiry is an automatic decision, recorded as one: a transcript item and an audit record.
    const items = (await api(second.url, "GET", `/v1/sessions/${session.id}/transcript`)).body.items;
    expect(items.filter((i: Json) => i.kind === "approval").map((i: Json) => i.data.decision)).toEqual(["expired"]);
    const audit = (await api(second.url, "GET", `/v1/audit?sessionId=${session.id}`)).body.items;
    expect(audit.filter((r: Json) => r.action === "approval.expire")).toHaveLength(1);
    // The Bash call was closed at the start; its late end from Claude Code does not complete it again.
    expect(
      (
        await hook(second.url, inst.body.secret, {
          ...base,
          hook_event_name: "PostToolUse",
          ...bash,
          tool_response: "ok",
        })
      ).status,
    ).toBe(200);
    const all = new SseClient(`${second.url}/v1/sessions/${session.id}/events?after=0`, {
      authorization: `Bearer ${TOKEN}`,
    });
    try {
      // A prompt after it: once its event is in, whatever the late hook stored is in too.
      await hook(second.url, inst.body.secret, { ...base, hook_event_name: "UserPromptSubmit", prompt: "after" });
      await all.waitForType("message.submitted", (d) => d.text === "after", 10_000);
      const completions = all.of("tool.completed").filter((e) => e.data.data.toolUseId === "toolu_bash");
      expect(completions.map((e) => e.data.data.output)).toEqual(["the server restarted during this turn"]);
    } finally {
      all.close();
    }
    const late = await api(second.url, "POST", `/v1/approvals/${approval.id}`, { decision: "allow_once" });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("APPROVAL_SETTLED");

    // The session's next hook attaches to the same session, and its approvals work again.
    const again = hook(second.url, inst.body.secret, { ...base, hook_event_name: "PermissionRequest", ...call });
    const next = await until("a new pending approval", async () => {
      const a = await api(second.url, "GET", `/v1/approvals?sessionId=${session.id}&status=pending`);
      return a.body.items[0];
    });
    expect((await api(second.url, "POST", `/v1/approvals/${next.id}`, { decision: "allow_once" })).status).toBe(200);
    expect(await (await again).json()).toMatchObject({
      hookSpecificOutput: { hookEventName: "PermissionRequest", decision: { behavior: "allow" } },
    });
    const sessions = await api(second.url, "GET", "/v1/sessions?limit=200");
    expect(sessions.body.items.filter((x: Json) => x.claudeSessionId === base.session_id)).toHaveLength(1);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("answers a held permission hook at once when its session ends (SessionEnd)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "aegis-hooks-end-"));
    cleanup.push(dataDir);
    writeConfig(dataDir, { port: 0, logLevel: "warn", auth: { token: TOKEN }, hooks: { timeoutSeconds: 120 } });
    const server = await startServerProcess(dataDir);
    running.push(server);
    const inst = await api(server.url, "POST", "/v1/hooks/installations", { name: "end" });
    const base = { session_id: "99999999-aaaa-bbbb-cccc-000000000002", cwd: tmpdir() };
    const held = hook(server.url, inst.body.secret, {
      ...base,
      hook_event_name: "PermissionRequest",
      tool_name: "Bash",
      tool_use_id: "toolu_end",
      tool_input: { command: "ls" },
    });
    const session = await until("the held approval", async () => {
      const l = await api(server.url, "GET", "/v1/sessions?limit=200");
      return l.body.items.find((s: Json) => s.claudeSessionId === base.session_id && s.status === "awaiting_approval");
    });
    const ended = Date.now();
    const end = await hook(server.url, inst.body.secret, { ...base, hook_event_name: "SessionEnd", reason: "exit" });
    expect(end.status).toBe(200);
    const answer = await held;
    expect(await answer.json()).toEqual({});
    expect(Date.now() - ended).toBeLessThan(5_000);
    const approvals = await api(server.url, "GET", `/v1/approvals?sessionId=${session.id}`);
    expect(approvals.body.items[0]).toMatchObject({ status: "cancelled" });
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });
});
