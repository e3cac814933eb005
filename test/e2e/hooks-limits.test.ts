// Hook calls face the same limits as the API: bad secrets count as failed authentications, and
// observed sessions count toward the live-session limits; a session belongs to one tenant.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { TestAegis } from "../support/aegis";
import { useModelForServers } from "../support/harness";
import type { ModelServer } from "../support/model-server";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");
let model: ModelServer;
const startServer = useModelForServers((m) => {
  model = m;
});

const hook = (aegis: TestAegis, secret: string | undefined, body: Json) =>
  fetch(`${aegis.url}/v1/hooks/${body.hook_event_name}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret !== undefined ? { "x-aegis-hook-secret": secret } : {}) },
    body: JSON.stringify(body),
  });
const prompt = (session: string) => ({
  session_id: session,
  cwd: tmpdir(),
  hook_event_name: "UserPromptSubmit",
  prompt: `hello from ${session}`,
});

async function installFor(aegis: TestAegis, token: string, name: string): Promise<string> {
  const r = await aegis.api<Json>("POST", "/v1/hooks/installations", { name }, { authorization: `Bearer ${token}` });
  expect(r.status).toBe(201);
  return r.body.secret;
}

async function newKey(aegis: TestAegis, name: string, tenant: string): Promise<string> {
  const r = await aegis.api<Json>("POST", "/v1/auth/keys", { name, role: "operator", tenant });
  expect(r.status).toBe(201);
  return r.body.token;
}

describe("hook input", () => {
  it("takes only an absolute cwd without NUL, and stores it normalised as the observed session's workDir", async () => {
    const aegis = await startServer({});
    const secret = await installFor(aegis, aegis.adminToken, "cwd");
    const stop = (cwd: string) => ({ session_id: `s-cwd-${cwd.length}`, cwd, hook_event_name: "Stop" });
    for (const [cwd, message] of [
      ["rel/dir", /absolute path/],
      ["/tmp/\u0000x", /NUL/],
    ] as const) {
      const r = await hook(aegis, secret, stop(cwd));
      expect(r.status, cwd).toBe(400);
      expect(((await r.json()) as Json).error.message).toMatch(message);
    }
    const sessions = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    expect(sessions.body.items).toEqual([]);
    expect((await hook(aegis, secret, stop(`${tmpdir()}/a/../b/./c`))).status).toBe(200);
    const observed = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    expect(observed.body.items.map((s: Json) => s.workDir)).toEqual([join(tmpdir(), "b", "c")]);
  });
});

describe("hooks from a session Aegis started", () => {
  it("are acknowledged without a second, observed session beside it", async () => {
    const aegis = await startServer({});
    const secret = await installFor(aegis, aegis.adminToken, "managed");
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: tmpdir(), reuse: false });
    expect(created.status).toBe(201);
    const claudeSessionId = created.body.claudeSessionId as string;
    expect(claudeSessionId).toBeTruthy();
    const r = await hook(aegis, secret, { session_id: claudeSessionId, cwd: tmpdir(), hook_event_name: "Stop" });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({});
    const sessions = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    expect(sessions.body.items.map((s: Json) => s.id)).toEqual([created.body.id]);
    await aegis.api("DELETE", `/v1/sessions/${created.body.id}`);
  });
});

describe("hook secrets are authentication", () => {
  it("bad secrets are audited as auth.failed and, past auth.maxFailuresPerMinute, answered 429 with Retry-After; a live secret still passes", async () => {
    const aegis = await startServer({ "auth.maxFailuresPerMinute": 3, logLevel: "debug" });
    const secret = await installFor(aegis, aegis.adminToken, "target");
    // Well formed and naming a real installation, but not its secret.
    const forged = secret.replace(/.{8}$/, "AAAAAAAA");
    const stop = { session_id: "s-auth", cwd: tmpdir(), hook_event_name: "Stop" };
    // N + 1 failures (counted like bad API keys: the limit is how many may fail before the lock)...
    const codes: number[] = [];
    for (const s of [undefined, "nonsense", forged, ""]) codes.push((await hook(aegis, s, stop)).status);
    expect(codes).toEqual([401, 401, 401, 401]);
    // ...then 429 with Retry-After for bad secrets (unaudited) until the window passes...
    for (const s of [forged, "nonsense"]) {
      const locked = await hook(aegis, s, stop);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await locked.json()) as Json).error.code).toBe("TOO_MANY_AUTH_FAILURES");
    }
    // ...while a live secret passes: every local Claude Code shares 127.0.0.1, so one project with a
    // stale secret must not stop the hooks (and policy checks) of all the others.
    expect((await hook(aegis, secret, stop)).status).toBe(200);

    // Hook failures have their own counter: the API key still works from this address.
    const audit = await aegis.api<Json>("GET", "/v1/audit?action=auth.failed&limit=100");
    expect(audit.status).toBe(200);
    const records = audit.body.items.filter((r: Json) => r.params.path === "/v1/hooks/Stop");
    expect(records.map((r: Json) => r.params.reason).sort()).toEqual([
      "invalid hook secret",
      "invalid hook secret",
      "no hook secret",
      "no hook secret",
    ]);
    for (const r of records) {
      expect(r).toMatchObject({
        actor: { keyId: null, ip: "127.0.0.1" },
        action: "auth.failed",
        outcome: "denied",
        params: { method: "POST" },
      });
    }
    const forgedRecord = records.find((r: Json) => r.target !== null);
    expect(forgedRecord.target).toEqual({
      type: "hook_installation",
      id: /^ahs_(hki_[0-9a-z]{26})_/.exec(secret)?.[1],
    });
    // Neither the secret tried nor the real one is written anywhere we can read.
    expect(JSON.stringify(audit.body)).not.toContain(forged);
    expect(aegis.logs.join("")).not.toContain(forged);
    expect(aegis.logs.join("")).not.toContain(secret);
    // Only the live secret's hook reached a session.
    const sessions = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    expect(sessions.body.items.map((s: Json) => s.claudeSessionId)).toEqual(["s-auth"]);
  });
});

describe("observed sessions and live-session limits", () => {
  it("refuses new observed sessions past the per-key and per-tenant limits with 429 TOO_MANY_SESSIONS; Claude Code carries on", async () => {
    const aegis = await startServer({
      "limits.concurrentSessionsPerKey": 1,
      "limits.concurrentSessionsPerTenant": 2,
    });
    const admin = await installFor(aegis, aegis.adminToken, "admin");
    const opA = await installFor(aegis, await newKey(aegis, "op-a", "default"), "op-a");
    const opB = await installFor(aegis, await newKey(aegis, "op-b", "default"), "op-b");

    expect((await hook(aegis, admin, prompt("lim-1"))).status).toBe(200);
    const perKey = await hook(aegis, admin, prompt("lim-2"));
    expect(perKey.status).toBe(429);
    const perKeyBody = (await perKey.json()) as Json;
    expect(perKeyBody.error.code).toBe("TOO_MANY_SESSIONS");
    expect(perKeyBody.error.message).toContain("limits.concurrentSessionsPerKey");
    expect((await hook(aegis, opA, prompt("lim-3"))).status).toBe(200);
    const perTenant = await hook(aegis, opB, prompt("lim-4"));
    expect(perTenant.status).toBe(429);
    expect(((await perTenant.json()) as Json).error.message).toContain("Tenant default");
    // A session already observed keeps being followed.
    expect((await hook(aegis, admin, prompt("lim-1"))).status).toBe(200);

    // The real Claude Code, refused the same way on every hook, still finishes its work.
    const project = mkdtempSync(join(tmpdir(), "aegis-observed-limit-"));
    const installed = await run(process.execPath, [
      join(ROOT, "bin", "ag.js"),
      "hooks",
      "install",
      project,
      "--server",
      aegis.url,
      "--key",
      aegis.adminToken,
    ]);
    const secret = /AEGIS_HOOK_SECRET=(\S+)/.exec(installed.stdout)?.[1] ?? "";
    expect(secret).toMatch(/^ahs_hki_/);
    model.script("observed-over-limit", [{ text: "Answered while over the limit." }]);
    const child = spawn(aegis.claude.claudePath, ["-p", "observed-over-limit: hi", "--output-format", "text"], {
      cwd: project,
      env: { ...aegis.claude.env, AEGIS_HOOK_SECRET: secret },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, out).toBe(0);
    expect(out).toContain("Answered while over the limit.");
    const listed = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    expect(listed.body.items.map((s: Json) => s.claudeSessionId).sort()).toEqual(["lim-1", "lim-3"]);

    // Limits count live sessions: once one ends, a new one may start.
    const end = { session_id: "lim-1", cwd: tmpdir(), hook_event_name: "SessionEnd", reason: "exit" };
    expect((await hook(aegis, admin, end)).status).toBe(200);
    expect((await hook(aegis, admin, prompt("lim-2"))).status).toBe(200);
  });

  it("a hook from another tenant's installation never attaches to a session it did not register", async () => {
    const aegis = await startServer();
    const mine = await installFor(aegis, aegis.adminToken, "default tenant");
    const theirs = await installFor(aegis, await newKey(aegis, "other", "other"), "other tenant");
    expect((await hook(aegis, mine, prompt("shared-id"))).status).toBe(200);
    const list = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    const session = list.body.items.find((s: Json) => s.claudeSessionId === "shared-id");
    expect(session.tenant).toBe("default");

    const intrude = await hook(aegis, theirs, { ...prompt("shared-id"), prompt: "injected by the other tenant" });
    expect(intrude.status).toBe(403);
    expect(((await intrude.json()) as Json).error.code).toBe("HOOK_SESSION_FOREIGN");
    const permission = await hook(aegis, theirs, {
      session_id: "shared-id",
      cwd: tmpdir(),
      hook_event_name: "PermissionRequest",
      tool_name: "Bash",
      tool_use_id: "toolu_intrude",
      tool_input: { command: "ls" },
    });
    expect(permission.status).toBe(403);
    const transcript = await aegis.api<Json>("GET", `/v1/sessions/${session.id}/transcript`);
    expect(JSON.stringify(transcript.body)).not.toContain("injected by the other tenant");
    const approvals = await aegis.api<Json>("GET", `/v1/approvals?sessionId=${session.id}`);
    expect(approvals.body.items).toEqual([]);
    const after = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    expect(after.body.items.filter((s: Json) => s.claudeSessionId === "shared-id")).toHaveLength(1);
  });

  it("in a tenant that does not share sessions, an installation neither writes into nor revokes another owner's", async () => {
    const aegis = await startServer();
    const a = await aegis.api<Json>("POST", "/v1/auth/keys", { name: "a", role: "operator", tenant: "solo" });
    const b = await aegis.api<Json>("POST", "/v1/auth/keys", { name: "b", role: "operator", tenant: "solo" });
    const asB = { authorization: `Bearer ${b.body.token}` };
    const installedA = await aegis.api<Json>(
      "POST",
      "/v1/hooks/installations",
      { name: "a" },
      { authorization: `Bearer ${a.body.token}` },
    );
    const secretB = await installFor(aegis, b.body.token, "b");
    expect((await hook(aegis, installedA.body.secret, prompt("cc-a-1"))).status).toBe(200);
    const intrude = await hook(aegis, secretB, { ...prompt("cc-a-1"), prompt: "injected by b" });
    expect(intrude.status).toBe(403);
    expect(((await intrude.json()) as Json).error.code).toBe("HOOK_SESSION_FOREIGN");
    const ending = await hook(aegis, secretB, { session_id: "cc-a-1", cwd: tmpdir(), hook_event_name: "SessionEnd" });
    expect(ending.status).toBe(403);
    const list = await aegis.api<Json>("GET", "/v1/sessions?limit=200");
    const session = list.body.items.find((s: Json) => s.claudeSessionId === "cc-a-1");
    expect(session.status).not.toBe("stopped");
    const transcript = await aegis.api<Json>("GET", `/v1/sessions/${session.id}/transcript`);
    expect(JSON.stringify(transcript.body)).not.toContain("injected by b");
    // Nor can b revoke a's installation: it answers as if there were none.
    const revoke = await aegis.api<Json>("DELETE", `/v1/hooks/installations/${installedA.body.id}`, undefined, asB);
    expect(revoke.status).toBe(404);
    expect((await hook(aegis, installedA.body.secret, prompt("cc-a-2"))).status).toBe(200);
  });

  it("an installation's secret lives no longer than the key that made it: revoked or expired, it answers 401", async () => {
    const aegis = await startServer();
    const revoked = await aegis.api<Json>("POST", "/v1/auth/keys", { name: "gone", role: "operator" });
    const expiring = await aegis.api<Json>("POST", "/v1/auth/keys", {
      name: "brief",
      role: "operator",
      expiresInSeconds: 1,
    });
    const secretR = await installFor(aegis, revoked.body.token, "r");
    const secretE = await installFor(aegis, expiring.body.token, "e");
    expect((await hook(aegis, secretR, prompt("cc-r-1"))).status).toBe(200);
    expect((await hook(aegis, secretE, prompt("cc-e-1"))).status).toBe(200);
    expect((await aegis.api("DELETE", `/v1/auth/keys/${revoked.body.id}`)).status).toBe(200);
    expect((await hook(aegis, secretR, prompt("cc-r-2"))).status).toBe(401);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await hook(aegis, secretE, prompt("cc-e-2"))).status).toBe(401);
    const sessions = (await aegis.api<Json>("GET", "/v1/sessions?limit=200")).body.items.map(
      (s: Json) => s.claudeSessionId,
    );
    expect(sessions).not.toContain("cc-r-2");
    expect(sessions).not.toContain("cc-e-2");
  });

  it("decides an observed session's calls against its own directory, whatever the hook's cwd after a cd", async () => {
    const aegis = await startServer();
    const put = await aegis.api<Json>("PUT", "/v1/policies/default", {
      rules: [{ tool: "*", path: "**/.env", decision: "deny", reason: "no secrets files" }],
      default: "allow",
    });
    expect(put.status).toBe(200);
    const secret = await installFor(aegis, aegis.adminToken, "cd");
    const project = mkdtempSync(join(tmpdir(), "aegis-hook-cd-"));
    const base = { session_id: "cc-cd-1", hook_event_name: "UserPromptSubmit", prompt: "hi", cwd: project };
    expect((await hook(aegis, secret, base)).status).toBe(200);
    const read = (cwd: string) =>
      hook(aegis, secret, {
        session_id: "cc-cd-1",
        cwd,
        hook_event_name: "PreToolUse",
        tool_name: "Read",
        tool_use_id: `toolu_${cwd.length}`,
        tool_input: { file_path: join(project, ".env") },
      }).then((r) => r.json() as Promise<Json>);
    expect((await read(project)).hookSpecificOutput).toMatchObject({ permissionDecision: "deny" });
    // After `cd sub` the hook's cwd moves; the project's .env is still the project's.
    expect((await read(join(project, "sub"))).hookSpecificOutput).toMatchObject({ permissionDecision: "deny" });
  });
});
