// Observed sessions: the real `claude -p`, run with the settings `ag hooks install` writes,
// reports to Aegis through HTTP hooks and has its tool calls decided there.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { TestAegis } from "../support/aegis";
import { useAegis } from "../support/harness";
import type { ModelServer } from "../support/model-server";
import { until } from "../support/until";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");
let model: ModelServer;
let aegis: TestAegis;

useAegis(
  (m, a) => {
    model = m;
    aegis = a;
  },
  { "hooks.timeoutSeconds": 30 },
);

/** `ag hooks install`; without `timeout` the hooks get the server's own (hooks.timeoutSeconds). */
async function install(project: string, timeout?: number): Promise<string> {
  const r = await run(process.execPath, [
    join(ROOT, "bin", "ag.js"),
    "hooks",
    "install",
    project,
    "--server",
    aegis.url,
    "--key",
    aegis.adminToken,
    ...(timeout !== undefined ? ["--timeout", String(timeout)] : []),
  ]);
  const secret = /AEGIS_HOOK_SECRET=(\S+)/.exec(r.stdout)?.[1];
  expect(secret).toMatch(/^ahs_hki_/);
  return secret!;
}

const permissionHook = (project: string) =>
  JSON.parse(readFileSync(join(project, ".claude", "settings.local.json"), "utf8")).hooks.PermissionRequest[0].hooks[0];

function claude(
  project: string,
  prompt: string,
  secret: string,
): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(
    aegis.claude.claudePath,
    ["-p", prompt, "--permission-mode", "default", "--output-format", "text"],
    {
      cwd: project,
      env: { ...aegis.claude.env, AEGIS_HOOK_SECRET: secret },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, out })),
  );
  return { child, done };
}

describe("observed sessions through Claude Code hooks", () => {
  it("records prompt, tool call and answer, and holds the permission request for a remote approval", async () => {
    const project = mkdtempSync(join(tmpdir(), "aegis-observed-"));
    const secret = await install(project);
    const settings = readFileSync(join(project, ".claude", "settings.local.json"), "utf8");
    expect(settings).not.toContain(secret);
    // The server's hook timeout, written into the file and told back to the server in a header.
    expect(permissionHook(project)).toMatchObject({ timeout: 30, headers: { "X-Aegis-Hook-Timeout": "30" } });
    model.script("observed-1", [
      {
        toolUse: {
          name: "Write",
          input: { file_path: join(project, "seen.txt"), content: "from an observed session" },
        },
      },
      { text: "Observed and done." },
    ]);
    const { child, done } = claude(project, "observed-1: write the file", secret);
    try {
      const session = await until("the observed session", async () => {
        const list = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
        return list.body.items.find((s: Json) => s.kind === "observed" && s.workDir === project);
      });
      const approval = await until("a pending approval", async () => {
        const a = await aegis.api<Json>("GET", `/v1/approvals?sessionId=${session.id}&status=pending`);
        return a.body.items[0];
      });
      expect(approval).toMatchObject({ toolName: "Write", kind: "tool" });
      const sent = await aegis.api<Json>("POST", `/v1/sessions/${session.id}/messages`, { text: "hi" });
      expect(sent.body.error.code).toBe("SESSION_OBSERVED");
      await aegis.api("POST", `/v1/approvals/${approval.id}`, { decision: "allow_once" });
      const result = await done;
      expect(result.code, result.out).toBe(0);
      expect(readFileSync(join(project, "seen.txt"), "utf8")).toBe("from an observed session");
      const transcript = await until("the finished transcript", async () => {
        const t = await aegis.api<Json>("GET", `/v1/sessions/${session.id}/transcript`);
        return t.body.items.some((i: Json) => i.kind === "assistant") ? t.body.items : undefined;
      });
      expect(transcript.map((i: Json) => i.kind)).toEqual(
        expect.arrayContaining(["user", "tool", "approval", "assistant"]),
      );
      expect(transcript.find((i: Json) => i.kind === "user").data.text).toContain("observed-1: write the file");
      expect(transcript.find((i: Json) => i.kind === "tool").data).toMatchObject({
        toolName: "Write",
        status: "completed",
      });
      const m = await aegis.api<Json>("GET", `/v1/sessions/${session.id}/metrics`);
      expect(m.body.toolCalls.byTool).toEqual({ Write: 1 });
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a permission request of a hook installed with a shorter timeout is answered before that timeout", async () => {
    const project = mkdtempSync(join(tmpdir(), "aegis-observed-"));
    // The server would hold for 25 s (hooks.timeoutSeconds 30); this hook gives up after 10.
    const secret = await install(project, 10);
    expect(permissionHook(project)).toMatchObject({ timeout: 10, headers: { "X-Aegis-Hook-Timeout": "10" } });
    model.script("observed-short", [
      { toolUse: { name: "Write", input: { file_path: join(project, "never.txt"), content: "nobody approved" } } },
      { text: "Not written." },
    ]);
    const { child, done } = claude(project, "observed-short: write the file", secret);
    try {
      const session = await until("the observed session", async () => {
        const list = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
        return list.body.items.find((s: Json) => s.kind === "observed" && s.workDir === project);
      });
      // Nobody decides: the server lets go of the request 5 s before Claude Code's 10 s are up.
      const settled = await until(
        "the held approval to be let go",
        async () => {
          const a = await aegis.api<Json>("GET", `/v1/approvals?sessionId=${session.id}`);
          const item = a.body.items.find((x: Json) => x.toolName === "Write");
          return item && item.status !== "pending" ? item : undefined;
        },
        30_000,
      );
      // Held for its share (5 s of the 10), and let go before Claude Code's own timeout.
      expect(settled.waitMs).toBeGreaterThanOrEqual(4_000);
      expect(settled.waitMs).toBeLessThan(10_000);
      expect(settled).toMatchObject({ status: "cancelled" });
      expect(settled.message).toContain("hook's timeout");
      const result = await done;
      expect(result.code, result.out).toBe(0);
      expect(existsSync(join(project, "never.txt"))).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a PreToolUse is denied by policy: the observed session's command never runs", async () => {
    const project = mkdtempSync(join(tmpdir(), "aegis-observed-"));
    writeFileSync(join(project, "keep.txt"), "keep me");
    const secret = await install(project);
    const put = await aegis.api<Json>("PUT", "/v1/policies/default", {
      rules: [
        { tool: "Bash", command: { glob: "rm *" }, decision: "deny", reason: "observed sessions may not delete" },
      ],
    });
    expect(put.status).toBe(200);
    const script = model.script("observed-deny", [
      { toolUse: { name: "Bash", input: { command: "rm keep.txt", description: "delete" } } },
      { text: "It was refused." },
    ]);
    const { child, done } = claude(project, "observed-deny: delete keep.txt", secret);
    try {
      const result = await done;
      expect(result.code, result.out).toBe(0);
      expect(readFileSync(join(project, "keep.txt"), "utf8")).toBe("keep me");
      expect(JSON.stringify(script.requests[1]?.body?.messages)).toContain("observed sessions may not delete");
      const list = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
      const session = list.body.items.find((s: Json) => s.kind === "observed" && s.workDir === project);
      const audit = await aegis.api<Json>("GET", `/v1/audit?sessionId=${session.id}&action=policy.deny`);
      expect(audit.body.items).toHaveLength(1);
    } finally {
      child.kill("SIGKILL");
      await aegis.api("PUT", "/v1/policies/default", { rules: [] });
    }
  });

  it("refuses hooks without the secret header, with a bad secret, or with a bad body", async () => {
    const post = (headers: Record<string, string>, body: unknown, event = "Stop") =>
      fetch(`${aegis.url}/v1/hooks/${event}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const good = { session_id: "abc", cwd: "/tmp", hook_event_name: "Stop" };
    const none = await post({}, good);
    expect(none.status).toBe(401);
    expect(((await none.json()) as Json).error.code).toBe("HOOK_SECRET_REQUIRED");
    const bad = await post(
      { "x-aegis-hook-secret": "ahs_hki_01aaaaaaaaaaaaaaaaaaaaaaaa_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
      good,
    );
    expect(((await bad.json()) as Json).error.code).toBe("HOOK_SECRET_INVALID");
    const inst = (await aegis.api<Json>("POST", "/v1/hooks/installations", { name: "test" })).body;
    const h = { "x-aegis-hook-secret": inst.secret };
    expect((await post(h, { ...good, hook_event_name: "Nope" })).status).toBe(400);
    expect((await post(h, { cwd: "/tmp", hook_event_name: "Stop" })).status).toBe(400);
    const mismatch = await post(h, { ...good, hook_event_name: "Notification" });
    expect(((await mismatch.json()) as Json).error.code).toBe("HOOK_EVENT_MISMATCH");
    const huge = await post(h, { ...good, last_assistant_message: "x".repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    const list = await aegis.api<Json>("GET", "/v1/hooks/installations");
    expect(JSON.stringify(list.body)).not.toContain(inst.secret);
    await aegis.api("DELETE", `/v1/hooks/installations/${inst.id}`);
    expect(((await (await post(h, good)).json()) as Json).error.code).toBe("HOOK_SECRET_INVALID");
    // nothing above reached a session
    const sessions = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    expect(sessions.body.items.filter((s: Json) => s.claudeSessionId === "abc")).toEqual([]);
  });

  it("a hook that keeps failing on the server trips the breaker, and the next hook tells Claude Code to stop", async () => {
    const inst = (await aegis.api<Json>("POST", "/v1/hooks/installations", { name: "failing" })).body;
    const post = (body: Json) =>
      fetch(`${aegis.url}/v1/hooks/${body.hook_event_name}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-aegis-hook-secret": inst.secret },
        body: JSON.stringify(body),
      });
    const base = { session_id: "11111111-2222-3333-4444-555555555555", cwd: tmpdir() };
    // What a full disk would do to the transcript: every prompt fails to be recorded.
    await sql`create trigger prompts_fail before insert on transcript_items when new.kind = 'user' begin select raise(abort, 'disk full'); end`.execute(
      aegis.app.db,
    );
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++)
        codes.push((await post({ ...base, hook_event_name: "UserPromptSubmit", prompt: `try ${i}` })).status);
      expect(codes.every((c) => c >= 500)).toBe(true);
    } finally {
      await sql`drop trigger prompts_fail`.execute(aegis.app.db);
    }
    const next = await post({
      ...base,
      hook_event_name: "PreToolUse",
      tool_name: "Bash",
      tool_use_id: "toolu_x",
      tool_input: { command: "ls" },
    });
    const body = (await next.json()) as Json;
    expect(body).toMatchObject({ continue: false, hookSpecificOutput: { permissionDecision: "deny" } });
    const list = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    const s = list.body.items.find((x: Json) => x.claudeSessionId === base.session_id);
    expect(s.attention.reason).toContain("UserPromptSubmit hook kept failing");
  });

  it("ag hooks uninstall removes what install added", async () => {
    const project = mkdtempSync(join(tmpdir(), "aegis-observed-"));
    await install(project);
    const r = await run(process.execPath, [join(ROOT, "bin", "ag.js"), "hooks", "uninstall", project]);
    expect(r.stdout).toMatch(/Removed \d+ Aegis hooks/);
    expect(existsSync(join(project, ".claude", "settings.local.json"))).toBe(false);
  });
});
