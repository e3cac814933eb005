// Session options reach Claude Code: model, system prompt, tool lists, env, limits, resume, mode.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SseClient, type TestAegis } from "../support/aegis";
import { useAegis } from "../support/harness";
import { lastToolResult, type ModelServer, systemText, toolNames, toolResultText } from "../support/model-server";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;

useAegis((m, a) => {
  model = m;
  aegis = a;
});
const freshDir = () => mkdtempSync(join(tmpdir(), "aegis-opt-"));

describe("session options", () => {
  it("passes model, appended system prompt, tool lists and env to Claude Code", async () => {
    const dir = freshDir();
    const script = model.script("opt-pass", [
      {
        toolUse: { name: "Bash", input: { command: "echo value=$MY_TEST_VAR", description: "print the variable" } },
      },
      { toolUse: { name: "Write", input: { file_path: join(dir, "w.txt"), content: "allowed" } } },
      { text: "all done" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: dir,
      prompt: "opt-pass: go",
      model: "claude-aegis-test-1",
      appendSystemPrompt: "AEGIS-APPENDED-INSTRUCTION",
      allowedTools: ["Bash", "Write"],
      disallowedTools: ["WebFetch"],
      env: { MY_TEST_VAR: "hello-env" },
    });
    expect(created.body.model).toBe("claude-aegis-test-1");
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    await sse.waitTurnsEnded(1);
    const first = script.requests[0]!;
    expect(first.body?.model).toBe("claude-aegis-test-1");
    expect(systemText(first)).toContain("AEGIS-APPENDED-INSTRUCTION");
    expect(toolNames(first)).toContain("Bash");
    expect(toolNames(first)).not.toContain("WebFetch");
    expect(toolResultText(lastToolResult(script.requests[1])[0]!)).toContain("value=hello-env");
    expect(readFileSync(join(dir, "w.txt"), "utf8")).toBe("allowed");
    expect(sse.of("approval.requested")).toHaveLength(0);
    sse.close();
  });

  it("stops a turn at maxTurns and says so", async () => {
    const dir = freshDir();
    model.script("opt-max", [
      { toolUse: { name: "Bash", input: { command: "true", description: "noop" } } },
      { toolUse: { name: "Bash", input: { command: "true", description: "noop" } } },
      { text: "never reached" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: dir,
      prompt: "opt-max: loop",
      maxTurns: 1,
      allowedTools: ["Bash"],
    });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    const failed = await sse.waitForType("turn.failed");
    expect(failed.data.data.code).toBe("ERROR_MAX_TURNS");
    await sse.waitTurnsEnded(1);
    sse.close();
  });

  it("resume continues an earlier Claude Code conversation in a new session", async () => {
    const dir = freshDir();
    const script = model.script("opt-resume", [{ text: "The code is OCTOPUS-42." }, { text: "It was OCTOPUS-42." }]);
    const a = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "opt-resume: remember" });
    const sseA = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${a.body.id}/events`);
    await sseA.waitTurnsEnded(1);
    await aegis.api("DELETE", `/v1/sessions/${a.body.id}`);

    const b = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: dir,
      resume: a.body.claudeSessionId,
      parentId: a.body.id,
      prompt: "opt-resume: what was the code?",
    });
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ claudeSessionId: a.body.claudeSessionId, parentId: a.body.id, reused: false });
    const sseB = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${b.body.id}/events`);
    await sseB.waitForType("message.completed", (d) => d.text === "It was OCTOPUS-42.");
    expect(JSON.stringify(script.requests[1]?.body?.messages)).toContain("The code is OCTOPUS-42.");
    // Another tenant's key cannot resume it: the conversation's history is the session owner's.
    const other = await aegis.api<Json>("POST", "/v1/auth/keys", { name: "other", role: "operator", tenant: "other" });
    const stolen = await aegis.api<Json>(
      "POST",
      "/v1/sessions",
      { workDir: dir, resume: a.body.claudeSessionId, prompt: "opt-resume: tell me everything" },
      { authorization: `Bearer ${other.body.token}` },
    );
    expect(stolen.status).toBe(404);
    expect(stolen.body.error.code).toBe("CONVERSATION_NOT_FOUND");
    expect(script.requests).toHaveLength(2);
    const bad = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: dir,
      parentId: "ses_01aaaaaaaaaaaaaaaaaaaaaaaa",
    });
    expect(bad.status).toBe(404);
    sseA.close();
    sseB.close();
  });

  it("PATCH switches the permission mode of a live session", async () => {
    const dir = freshDir();
    const script = model.script("opt-mode", [
      { toolUse: { name: "Write", input: { file_path: join(dir, "a.txt"), content: "a" } } },
      { text: "first done" },
      { toolUse: { name: "Write", input: { file_path: join(dir, "b.txt"), content: "b" } } },
      { text: "second done" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: dir,
      prompt: "opt-mode: one",
      permissionMode: "default",
    });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await sse.waitForType("approval.requested");
    await aegis.api("POST", `/v1/sessions/${id}/approve`, {});
    await sse.waitTurnsEnded(1);
    const patched = await aegis.api<Json>("PATCH", `/v1/sessions/${id}`, { permissionMode: "acceptEdits" });
    expect(patched.status).toBe(200);
    expect(patched.body.permissionMode).toBe("acceptEdits");
    await sse.waitForType("session.updated");
    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "opt-mode: two" });
    await sse.waitTurnsEnded(2);
    expect(existsSync(join(dir, "b.txt"))).toBe(true);
    expect(sse.of("approval.requested")).toHaveLength(1);
    expect(script.done).toBe(true);
    const empty = await aegis.api<Json>("PATCH", `/v1/sessions/${id}`, {});
    expect(empty.status).toBe(400);
    // Claude Code refuses bypassPermissions for a session not started with it: a 409, the mode kept.
    const refused = await aegis.api<Json>("PATCH", `/v1/sessions/${id}`, { permissionMode: "bypassPermissions" });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("PERMISSION_MODE_REFUSED");
    expect((await aegis.api<Json>("GET", `/v1/sessions/${id}`)).body.permissionMode).toBe("acceptEdits");
    // Known in advance, so never recorded as done: one audit record, denied, and no session.updated.
    const records = (await aegis.api<Json>("GET", `/v1/audit?sessionId=${id}&action=session.update`)).body.items;
    expect(records.filter((r: Json) => r.params.permissionMode === "bypassPermissions")).toMatchObject([
      { outcome: "denied" },
    ]);
    expect(sse.of("session.updated").map((e) => e.data.data.permissionMode)).toEqual(["acceptEdits"]);

    // Two changes at once, one refused: the stored mode ends as the one Claude Code accepted, in either
    // order (the refusal once put back a mode read before the other change was confirmed).
    for (const [first, second] of [
      ["bypassPermissions", "plan"],
      ["acceptEdits", "bypassPermissions"],
    ] as const) {
      const both = await Promise.all(
        [first, second].map((permissionMode) => aegis.api<Json>("PATCH", `/v1/sessions/${id}`, { permissionMode })),
      );
      expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
      const accepted = first === "bypassPermissions" ? second : first;
      expect((await aegis.api<Json>("GET", `/v1/sessions/${id}`)).body.permissionMode).toBe(accepted);
    }
    sse.close();
  });
});
