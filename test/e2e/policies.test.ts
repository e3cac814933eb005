// Tool policies with the real Claude Code: deny, ask, allow, allow_always, dry runs, versions.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { lastToolResult, type ModelServer, startModelServer, toolResultText } from "../support/model-server";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;

beforeAll(async () => {
  model = await startModelServer();
  aegis = await startAegis(model.url);
  const put = await aegis.api<Json>("PUT", "/v1/policies/default", {
    rules: [
      { tool: "Bash", command: { glob: "rm *" }, decision: "deny", reason: "no deleting files" },
      { tool: "Bash", command: { glob: "touch *" }, decision: "allow", reason: "touching is harmless" },
      { tool: "Write", decision: "ask", reason: "writes need a person" },
    ],
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
});
afterAll(async () => {
  await aegis?.close();
  await model?.close();
});

const dir = () => mkdtempSync(join(tmpdir(), "aegis-pol-"));

describe("policies", () => {
  it("a deny rule on Bash(rm *) keeps the file and tells the model why, also when chained", async () => {
    const d = dir();
    writeFileSync(join(d, "keep.txt"), "precious");
    const script = model.script("pol-deny", [
      { toolUse: { name: "Bash", input: { command: "echo hi && rm keep.txt", description: "delete" } } },
      { text: "could not delete" },
    ]);
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: d, prompt: "pol-deny: delete it" })).body;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    await sse.waitTurnsEnded(1);
    expect(readFileSync(join(d, "keep.txt"), "utf8")).toBe("precious");
    expect(toolResultText(lastToolResult(script.requests[1])[0]!)).toContain("Denied by policy: no deleting files");
    expect(sse.of("policy.decided")[0]?.data.data).toMatchObject({
      decision: "deny",
      rule: { layer: "server", index: 0 },
    });
    expect(sse.of("approval.requested")).toHaveLength(0);
    const audit = await aegis.api<Json>("GET", `/v1/audit?sessionId=${s.id}&action=policy.deny`);
    expect(audit.body.items).toHaveLength(1);
    sse.close();
  });

  it.each([
    ["bypassPermissions", { permissionMode: "bypassPermissions" }],
    ["allowedTools naming Bash", { allowedTools: ["Bash"] }],
  ])("a deny rule holds when %s would let Claude Code run the call without asking", async (_what, options) => {
    const d = dir();
    writeFileSync(join(d, "keep.txt"), "precious");
    const tag = `pol-pre-${Object.keys(options)[0]}`;
    const script = model.script(tag, [
      { toolUse: { name: "Bash", input: { command: "rm keep.txt", description: "delete" } } },
      { text: "could not delete" },
    ]);
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: d, prompt: `${tag}: delete it`, ...options }))
      .body;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    await sse.waitTurnsEnded(1);
    expect(readFileSync(join(d, "keep.txt"), "utf8")).toBe("precious");
    expect(toolResultText(lastToolResult(script.requests[1])[0]!)).toContain("no deleting files");
    expect(sse.of("policy.decided").map((e) => e.data.data.decision)).toEqual(["deny"]);
    sse.close();
  });

  it("an allow rule runs without asking; an ask rule waits for POST /v1/approvals/{id} and the tool then runs", async () => {
    const d = dir();
    model.script("pol-ask", [
      { toolUse: { name: "Bash", input: { command: "touch made.txt", description: "touch" } } },
      { toolUse: { name: "Write", input: { file_path: join(d, "asked.txt"), content: "after asking" } } },
      { text: "done" },
    ]);
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: d, prompt: "pol-ask: go" })).body;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    const req = await sse.waitForType("approval.requested");
    expect(req.data.data.toolName).toBe("Write");
    expect(sse.of("policy.decided")[0]?.data.data).toMatchObject({ toolName: "Bash", decision: "allow" });
    const approval = await aegis.api<Json>("GET", `/v1/approvals/${req.data.data.approvalId}`);
    expect(approval.body.message).toBe("writes need a person");
    expect(existsSync(join(d, "made.txt"))).toBe(true);
    expect(existsSync(join(d, "asked.txt"))).toBe(false);
    await aegis.api("POST", `/v1/approvals/${req.data.data.approvalId}`, { decision: "allow_once" });
    await sse.waitTurnsEnded(1);
    expect(readFileSync(join(d, "asked.txt"), "utf8")).toBe("after asking");
    sse.close();
  });

  it("an approver cannot edit a call into one the policy denies; the call as asked can still be approved", async () => {
    const d = dir();
    writeFileSync(join(d, "keep.txt"), "precious");
    model.script("pol-edit", [
      { toolUse: { name: "Write", input: { file_path: join(d, "asked.txt"), content: "as asked" } } },
      { text: "done" },
    ]);
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: d, prompt: "pol-edit: go" })).body;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    const req = await sse.waitForType("approval.requested");
    // A session rule denies writing keep.txt; the approver tries to swap that path in.
    await aegis.api("PUT", `/v1/sessions/${s.id}/policy`, {
      rules: [{ tool: "Write", path: "**/keep.txt", decision: "deny", reason: "keep.txt stays" }],
    });
    const edited = await aegis.api<Json>("POST", `/v1/approvals/${req.data.data.approvalId}`, {
      decision: "allow_once",
      updatedInput: { file_path: join(d, "keep.txt"), content: "overwritten" },
    });
    expect(edited.status).toBe(403);
    expect(edited.body.error.code).toBe("EDIT_DENIED_BY_POLICY");
    expect(edited.body.error.message).toContain("keep.txt stays");
    // Still pending: the call as asked can be approved.
    const ok = await aegis.api<Json>("POST", `/v1/approvals/${req.data.data.approvalId}`, { decision: "allow_once" });
    expect(ok.status).toBe(200);
    await sse.waitTurnsEnded(1);
    expect(readFileSync(join(d, "keep.txt"), "utf8")).toBe("precious");
    expect(readFileSync(join(d, "asked.txt"), "utf8")).toBe("as asked");
    sse.close();
  });

  it("allow_always adds a session rule, so the next identical call goes through without asking", async () => {
    const d = dir();
    // No server rule matches mkdir, so it is asked about (the default) until a person says always.
    const mkdir = { toolUse: { name: "Bash", input: { command: "mkdir -p built/out", description: "mkdir" } } };
    model.script("pol-always", [mkdir, { text: "first" }, mkdir, { text: "second" }]);
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: d, prompt: "pol-always: write" })).body;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    const req = await sse.waitForType("approval.requested");
    await aegis.api("POST", `/v1/approvals/${req.data.data.approvalId}`, { decision: "allow_always" });
    await sse.waitTurnsEnded(1);
    const pol = await aegis.api<Json>("GET", `/v1/sessions/${s.id}/policy`);
    expect(pol.body.policy.rules[0]).toMatchObject({
      tool: "Bash",
      command: { glob: "mkdir -p built/out" },
      decision: "allow",
    });
    await aegis.api("POST", `/v1/sessions/${s.id}/messages`, { text: "pol-always: again" });
    await sse.waitTurnsEnded(2);
    expect(sse.of("approval.requested")).toHaveLength(1);
    expect(sse.of("policy.decided").at(-1)?.data.data).toMatchObject({ decision: "allow", rule: { layer: "session" } });
    sse.close();
  });

  it("below admin, a session policy keeps its overridesAsk rules but cannot add one", async () => {
    const op = (await aegis.api<Json>("POST", "/v1/auth/keys", { name: "pol-op", role: "operator" })).body;
    const as = { authorization: `Bearer ${op.token}` };
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir() }, as)).body;
    const wave = { tool: "*", decision: "allow", overridesAsk: true, reason: "everything" };
    const put = (rules: Json[], headers?: Json) =>
      aegis.api<Json>("PUT", `/v1/sessions/${s.id}/policy`, { rules }, headers);
    const refused = await put([wave], as);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("OVERRIDE_NOT_ANSWERED");
    // An admin may; the operator may then keep it (a round trip) but not add another.
    expect((await put([wave])).status).toBe(200);
    const kept = (await aegis.api<Json>("GET", `/v1/sessions/${s.id}/policy`, undefined, as)).body.policy.rules;
    expect((await put([...kept, { tool: "Bash", decision: "deny", reason: "no shell" }], as)).status).toBe(200);
    const other = { tool: "Bash", decision: "allow", overridesAsk: true, reason: "shell" };
    expect((await put([...kept, other], as)).status).toBe(403);
    await aegis.api("DELETE", `/v1/sessions/${s.id}`);
  });

  it("reject_always adds a session deny rule, so the next identical call is refused without asking", async () => {
    const d = dir();
    // No server rule matches mkdir, so it is asked about until a person says never.
    const mkdir = { toolUse: { name: "Bash", input: { command: "mkdir -p never/here", description: "mkdir" } } };
    const script = model.script("pol-never", [mkdir, { text: "first" }, mkdir, { text: "second" }]);
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: d, prompt: "pol-never: make it" })).body;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    const req = await sse.waitForType("approval.requested");
    const res = await aegis.api<Json>("POST", `/v1/approvals/${req.data.data.approvalId}`, {
      decision: "reject_always",
      message: "never make that directory",
    });
    expect(res.body).toMatchObject({ status: "rejected", decision: "reject_always" });
    await sse.waitTurnsEnded(1);
    expect(toolResultText(lastToolResult(script.requests[1])[0]!)).toContain("never make that directory");
    const pol = await aegis.api<Json>("GET", `/v1/sessions/${s.id}/policy`);
    expect(pol.body.policy.rules).toHaveLength(1);
    expect(pol.body.policy.rules[0]).toMatchObject({
      tool: "Bash",
      command: { glob: "mkdir -p never/here" },
      decision: "deny",
      reason: "rejected always by bootstrap",
    });
    expect(pol.body.policy.rules[0].overridesAsk).toBeUndefined();

    await aegis.api("POST", `/v1/sessions/${s.id}/messages`, { text: "pol-never: again" });
    await sse.waitTurnsEnded(2);
    expect(sse.of("approval.requested")).toHaveLength(1);
    expect(sse.of("policy.decided").at(-1)?.data.data).toMatchObject({
      toolName: "Bash",
      decision: "deny",
      reason: "rejected always by bootstrap",
      rule: { layer: "session", index: 0 },
    });
    const told = lastToolResult(script.requests[3])[0]!;
    expect(told.is_error).toBe(true);
    expect(toolResultText(told)).toContain("Denied by policy: rejected always by bootstrap");
    expect(existsSync(join(d, "never"))).toBe(false);
    const audit = await aegis.api<Json>("GET", `/v1/audit?sessionId=${s.id}&action=policy.deny`);
    expect(audit.body.items).toHaveLength(1);
    sse.close();
  });

  it("a key's policy layer decides the calls of that key's sessions only", async () => {
    const newKey = async (name: string) => {
      const res = await aegis.api<Json>("POST", "/v1/auth/keys", { name, role: "operator" });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { id: string; token: string };
    };
    const strict = await newKey("pol-key-strict");
    const other = await newKey("pol-key-other");
    // The server layer allows touch; the strict key's own layer denies it, and a deny in any layer wins.
    const put = await aegis.api<Json>("PUT", `/v1/policies/keys/${strict.id}`, {
      rules: [{ tool: "Bash", command: { glob: "touch *" }, decision: "deny", reason: "this key may not touch" }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ scope: { type: "key", id: strict.id }, version: 1 });
    const view = await aegis.api<Json>("GET", `/v1/policies/keys/${strict.id}`);
    expect(view.body).toMatchObject({ source: "api", version: 1, policy: { rules: [{ decision: "deny" }] } });

    const touch = { toolUse: { name: "Bash", input: { command: "touch touched.txt", description: "touch" } } };
    const runAs = async (key: { token: string }, marker: string) => {
      const d = dir();
      const script = model.script(marker, [touch, { text: "done" }]);
      const created = await aegis.api<Json>(
        "POST",
        "/v1/sessions",
        { workDir: d, prompt: `${marker}: touch it` },
        { authorization: `Bearer ${key.token}` },
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
      await sse.waitTurnsEnded(1);
      sse.close();
      return { d, script, sse, id: created.body.id as string };
    };

    const denied = await runAs(strict, "pol-key-strict");
    expect(existsSync(join(denied.d, "touched.txt"))).toBe(false);
    expect(denied.sse.of("policy.decided")[0]?.data.data).toMatchObject({
      decision: "deny",
      reason: "this key may not touch",
      rule: { layer: "key", index: 0 },
    });
    expect(toolResultText(lastToolResult(denied.script.requests[1])[0]!)).toContain(
      "Denied by policy: this key may not touch",
    );
    const dry = await aegis.api<Json>("POST", "/v1/policies/evaluate", {
      toolName: "Bash",
      input: { command: "touch x" },
      sessionId: denied.id,
    });
    expect(dry.body).toMatchObject({ decision: "deny", rule: { layer: "key" } });

    const allowed = await runAs(other, "pol-key-other");
    expect(existsSync(join(allowed.d, "touched.txt"))).toBe(true);
    expect(allowed.sse.of("policy.decided")[0]?.data.data).toMatchObject({
      decision: "allow",
      rule: { layer: "server", index: 1 },
    });
    expect(allowed.sse.of("approval.requested")).toHaveLength(0);
  });

  it("allow_always also stands against the ask rule that caused it; a deny rule still wins", async () => {
    const d = dir();
    // The server policy says Write: ask. A person answers allow_always for this file.
    const write = { toolUse: { name: "Write", input: { file_path: join(d, "again.txt"), content: "x\n" } } };
    model.script("pol-always-ask", [write, { text: "first" }, write, { text: "second" }]);
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: d, prompt: "pol-always-ask: write" })).body;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    const req = await sse.waitForType("approval.requested");
    await aegis.api("POST", `/v1/approvals/${req.data.data.approvalId}`, { decision: "allow_always" });
    await sse.waitTurnsEnded(1);
    const pol = await aegis.api<Json>("GET", `/v1/sessions/${s.id}/policy`);
    expect(pol.body.policy.rules[0]).toMatchObject({ tool: "Write", decision: "allow", overridesAsk: true });
    await aegis.api("POST", `/v1/sessions/${s.id}/messages`, { text: "pol-always-ask: again" });
    await sse.waitTurnsEnded(2);
    expect(sse.of("approval.requested")).toHaveLength(1);
    expect(sse.of("policy.decided").at(-1)?.data.data).toMatchObject({ decision: "allow", rule: { layer: "session" } });
    // Only allow rules may carry overridesAsk (that it never beats a deny: src/policy/evaluate.test.ts).
    const wrong = await aegis.api<Json>("PUT", `/v1/sessions/${s.id}/policy`, {
      rules: [{ tool: "Bash", decision: "ask", reason: "r", overridesAsk: true }],
    });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.body)).toContain("only an allow rule can override ask");
    sse.close();
  });

  it("a rule's approval timeout denies the call when nobody decides in time", async () => {
    const d = dir();
    const script = model.script("pol-timeout", [
      { toolUse: { name: "Bash", input: { command: "mkdir -p slow", description: "mkdir" } } },
      { text: "timed out" },
    ]);
    const s = (await aegis.api<Json>("POST", "/v1/sessions", { workDir: d })).body;
    await aegis.api("PUT", `/v1/sessions/${s.id}/policy`, {
      rules: [
        {
          tool: "Bash",
          command: { glob: "mkdir *" },
          decision: "ask",
          reason: "quick answer needed",
          approvalTimeoutSeconds: 1,
        },
      ],
    });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    await aegis.api("POST", `/v1/sessions/${s.id}/messages`, { text: "pol-timeout: go" });
    const resolved = await sse.waitForType("approval.resolved");
    expect(resolved.data.data).toMatchObject({ status: "expired" });
    await sse.waitTurnsEnded(1);
    expect(existsSync(join(d, "slow"))).toBe(false);
    expect(toolResultText(lastToolResult(script.requests[1])[0]!)).toContain("No decision within 1 s");
    // Aegis decided (by the clock): an audit record and a transcript item say so.
    const audit = await aegis.api<Json>("GET", `/v1/audit?sessionId=${s.id}&action=approval.expire`);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({ params: { toolName: "Bash", decision: "expired" } });
    const transcript = await aegis.api<Json>("GET", `/v1/sessions/${s.id}/transcript`);
    expect(transcript.body.items.filter((i: Json) => i.kind === "approval").map((i: Json) => i.data.decision)).toEqual([
      "expired",
    ]);
    sse.close();
  });

  it("validates policies with a message naming the bad rule, versions them, and evaluates dry runs", async () => {
    const bad = await aegis.api<Json>("PUT", "/v1/policies/default", {
      rules: [
        { tool: "Bash", decision: "deny", reason: "ok" },
        { tool: "Bash", command: { regex: "(?<=a)b" }, decision: "deny", reason: "x" },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/rules\.1/);
    const before = await aegis.api<Json>("GET", "/v1/policies/default");
    expect(before.body).toMatchObject({ source: "api", version: 1 });
    const dry = await aegis.api<Json>("POST", "/v1/policies/evaluate", {
      toolName: "Bash",
      input: { command: "sudo rm -rf /tmp/x" },
    });
    expect(dry.body).toMatchObject({
      decision: "deny",
      reason: "no deleting files",
      rule: { layer: "server", index: 0 },
    });
    const own = await aegis.api<Json>("POST", "/v1/policies/evaluate", {
      toolName: "WebFetch",
      input: { url: "https://docs.example.com/x" },
      policy: { rules: [{ tool: "WebFetch", domain: "*.example.com", decision: "allow", reason: "docs" }] },
    });
    expect(own.body.decision).toBe("allow");
    // A dry run's workDir is absolute, as a session's is: a relative one was resolved against the server's own directory.
    const relative = await aegis.api<Json>("POST", "/v1/policies/evaluate", {
      toolName: "Read",
      input: { file_path: "x" },
      workDir: "relative",
    });
    expect(relative.status).toBe(400);
    expect(relative.body.error.message).toMatch(/absolute path/);
    const tenant = await aegis.api<Json>("PUT", "/v1/policies/tenants/default", { rules: [], default: "ask" });
    expect(tenant.body.version).toBe(1);
    const audit = await aegis.api<Json>("GET", "/v1/audit?action=policy.update");
    expect(audit.body.items.length).toBeGreaterThanOrEqual(2);
  });
});
