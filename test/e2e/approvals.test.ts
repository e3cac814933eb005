// Tool calls that need a decision: approve, reject, escape and interrupt, with the real Claude Code.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SYSTEM_CALLER } from "../../src/auth";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { useAegis } from "../support/harness";
import { lastToolResult, type ModelServer, toolResultText } from "../support/model-server";
import { until } from "../support/until";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;

useAegis((m, a) => {
  model = m;
  aegis = a;
});

function writeScript(marker: string, file: string, content: string) {
  return model.script(marker, [
    { text: "I will write the file.", toolUse: { name: "Write", input: { file_path: file, content } } },
    { text: "Finished." },
  ]);
}

async function startWithPendingWrite(marker: string) {
  const dir = mkdtempSync(join(tmpdir(), "aegis-apr-"));
  const file = join(dir, "out.txt");
  const script = writeScript(marker, file, `content for ${marker}\n`);
  const created = await aegis.api<Json>("POST", "/v1/sessions", {
    workDir: dir,
    prompt: `${marker}: write a file`,
    permissionMode: "default",
  });
  expect(created.status).toBe(201);
  const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
  const requested = await sse.waitForType("approval.requested");
  await sse.waitForStatus("awaiting_approval");
  return { id: created.body.id as string, dir, file, sse, requested: requested.data.data as Json, script };
}

describe("approvals", () => {
  it("waits for approval, then writes the scripted file", async () => {
    const { id, file, sse, requested } = await startWithPendingWrite("apr-approve");
    expect(requested).toMatchObject({ toolName: "Write", input: { file_path: file } });
    expect(existsSync(file)).toBe(false);
    const s = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(s.body.status).toBe("awaiting_approval");
    expect(s.body.pendingApprovals).toEqual([expect.objectContaining({ id: requested.approvalId, toolName: "Write" })]);

    const res = await aegis.api<Json>("POST", `/v1/sessions/${id}/approve`, {});
    expect(res.status).toBe(200);
    await sse.waitForType("tool.completed");
    await sse.waitForType("message.completed", (d) => d.text === "Finished.");
    expect(readFileSync(file, "utf8")).toBe("content for apr-approve\n");
    expect(sse.of("approval.resolved")[0]?.data.data).toMatchObject({ status: "approved", toolName: "Write" });

    const t = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
    const kinds = t.body.items.map((i: Json) => i.kind);
    expect(kinds).toEqual(["user", "assistant", "tool", "approval", "assistant"]);
    const tool = t.body.items[2];
    expect(tool.data).toMatchObject({
      toolName: "Write",
      status: "completed",
      isError: false,
      input: { file_path: file },
    });
    expect(tool.data.durationMs).toBeGreaterThanOrEqual(0);
    expect(t.body.items[3].data).toMatchObject({ decision: "allow_once" });
    const m = await aegis.api<Json>("GET", `/v1/sessions/${id}/metrics`);
    expect(m.body.toolCalls).toMatchObject({ total: 1, byTool: { Write: 1 } });
    expect(m.body.approvals).toMatchObject({ total: 1, approved: 1 });
    const lat = await aegis.api<Json>("GET", `/v1/sessions/${id}/latency`);
    expect(lat.body.approvalWait.count).toBe(1);
    sse.close();
  });

  it("an approved Edit changes the file on disk, and the transcript keeps the call with its input and result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aegis-edit-"));
    const file = join(dir, "notes.txt");
    writeFileSync(file, "alpha\nbeta\ngamma\n");
    const edit = { file_path: file, old_string: "beta", new_string: "BETA (edited)" };
    // Claude Code refuses to edit a file it has not read in this conversation, so it reads first.
    const script = model.script("apr-edit", [
      { toolUse: { name: "Read", input: { file_path: file } } },
      { text: "Editing.", toolUse: { name: "Edit", input: edit } },
      { text: "Edited." },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "apr-edit: fix the note" });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    const requested = await sse.waitForType("approval.requested");
    expect(requested.data.data).toMatchObject({ toolName: "Edit", input: edit });
    expect(readFileSync(file, "utf8")).toBe("alpha\nbeta\ngamma\n");
    await aegis.api("POST", `/v1/sessions/${id}/approve`, {});
    await sse.waitTurnsEnded(1);
    expect(readFileSync(file, "utf8")).toBe("alpha\nBETA (edited)\ngamma\n");
    expect(sse.of("approval.requested")).toHaveLength(1);
    expect(lastToolResult(script.requests[2])[0]?.is_error).toBeFalsy();
    const completed = sse.of("tool.completed").map((e) => e.data.data);
    expect(completed.map((c) => [c.toolName, c.isError])).toEqual([
      ["Read", false],
      ["Edit", false],
    ]);

    const t = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
    expect(t.body.items.map((i: Json) => i.kind)).toEqual([
      "user",
      "tool",
      "assistant",
      "tool",
      "approval",
      "assistant",
    ]);
    const read = t.body.items[1].data;
    expect(read).toMatchObject({ toolName: "Read", status: "completed", isError: false, input: { file_path: file } });
    expect(read.result).toContain("beta");
    const tool = t.body.items[3].data;
    expect(tool).toMatchObject({ toolName: "Edit", status: "completed", isError: false, input: edit });
    expect(tool.result).toContain(file);
    expect(tool.result).toMatch(/updated/i);
    expect(t.body.items[4].data).toMatchObject({ toolName: "Edit", decision: "allow_once" });
    sse.close();
  });

  it("rejects: no file, and the model is told why", async () => {
    const { id, file, sse, script } = await startWithPendingWrite("apr-reject");
    const res = await aegis.api<Json>("POST", `/v1/sessions/${id}/reject`, { message: "Do not touch that file." });
    expect(res.status).toBe(200);
    await sse.waitForType("message.completed", (d) => d.text === "Finished.");
    expect(existsSync(file)).toBe(false);
    const followUp = script.requests[1];
    expect(followUp).toBeDefined();
    const result = lastToolResult(followUp!)[0];
    expect(result?.is_error).toBe(true);
    expect(toolResultText(result!)).toContain("Do not touch that file.");
    expect(sse.of("approval.resolved")[0]?.data.data).toMatchObject({
      status: "rejected",
      message: "Do not touch that file.",
    });
    sse.close();
  });

  it("escape cancels the pending approval and drops queued messages; the session stays usable", async () => {
    const { id, file, sse, script } = await startWithPendingWrite("apr-escape");
    const queued = await aegis.api<Json>("POST", `/v1/sessions/${id}/messages`, {
      text: "apr-escape: queued, never sent",
    });
    expect(queued.body.queued).toBe(true);
    const res = await aegis.api<Json>("POST", `/v1/sessions/${id}/escape`);
    expect(res.status).toBe(200);
    expect(res.body.droppedMessages).toBe(1);
    await sse.waitForType("approval.resolved", (d) => d.status === "cancelled");
    await sse.waitFor(
      (e) => e.event === "session.status_changed" && e.data.data.to === "idle" && e.data.data.reason !== "ready",
    );
    expect(existsSync(file)).toBe(false);
    const s = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(s.body).toMatchObject({ status: "idle", pendingApprovals: [], queuedMessages: 0 });
    expect(model.turnRequests("apr-escape").some((r) => JSON.stringify(r.body).includes("queued, never sent"))).toBe(
      false,
    );
    const none = await aegis.api<Json>("POST", `/v1/sessions/${id}/approve`, {});
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe("NO_PENDING_APPROVAL");

    // Follow-ups belong to the conversation the first prompt opened, so its script answers them:
    // the interrupted turn never asked for step 2, so the next prompt gets it.
    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "apr-escape-after" });
    await sse.waitForType("message.completed", (d) => d.text === "Finished.");
    expect(JSON.stringify(script.requests.at(-1)?.body?.messages)).toContain("apr-escape-after");
    sse.close();
  });

  it("interrupts a slow stream; the session stays usable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aegis-int-"));
    const script = model.script("int-slow", [
      { text: "a very slow answer that will not finish in time", delayMs: 400, chunks: 30 },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "int-slow: talk slowly" });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    await sse.waitForType("message.delta");
    const res = await aegis.api<Json>("POST", `/v1/sessions/${id}/interrupt`);
    expect(res.status).toBe(200);
    const failed = await sse.waitForType("turn.failed");
    expect(failed.data.data.code).toBe("INTERRUPTED");
    await sse.waitFor(
      (e) => e.event === "session.status_changed" && e.data.data.to === "idle" && e.data.data.reason !== "ready",
    );
    const notWorking = await aegis.api<Json>("POST", `/v1/sessions/${id}/interrupt`);
    expect(notWorking.status).toBe(409);
    expect(notWorking.body.error.code).toBe("SESSION_NOT_WORKING");
    script.push({ text: "after the interrupt" });
    await aegis.api("POST", `/v1/sessions/${id}/messages`, { text: "int-after" });
    await sse.waitForType("message.completed", (d) => d.text === "after the interrupt");
    await sse.waitTurnsEnded(2);
    const m = await aegis.api<Json>("GET", `/v1/sessions/${id}/metrics`);
    expect(m.body.turns).toMatchObject({ total: 2, interrupted: 1, completed: 1 });
    sse.close();
  });
});

describe("approvals API", () => {
  it("decides by approval id, with an edited input, and lists pending and recent approvals", async () => {
    const { id, file, sse, requested } = await startWithPendingWrite("apr-api-edit");
    const pending = await aegis.api<Json>("GET", `/v1/approvals?sessionId=${id}&status=pending`);
    expect(pending.body.items.map((a: Json) => a.id)).toEqual([requested.approvalId]);
    expect(pending.body.items[0]).toMatchObject({ kind: "tool", toolName: "Write", status: "pending", decision: null });
    const res = await aegis.api<Json>("POST", `/v1/approvals/${requested.approvalId}`, {
      decision: "allow_once",
      updatedInput: { file_path: file, content: "edited by a human\n" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "approved", decision: "allow_once", decidedBy: "bootstrap" });
    await sse.waitForType("tool.completed");
    expect(readFileSync(file, "utf8")).toBe("edited by a human\n");
    const again = await aegis.api<Json>("POST", `/v1/approvals/${requested.approvalId}`, { decision: "reject_once" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("APPROVAL_SETTLED");
    // The session's own route says the same of a decided approval (it said 404 APPROVAL_NOT_FOUND).
    const bySession = await aegis.api<Json>("POST", `/v1/sessions/${id}/reject`, { approvalId: requested.approvalId });
    expect(bySession.status).toBe(409);
    expect(bySession.body.error.code).toBe("APPROVAL_SETTLED");
    const one = await aegis.api<Json>("GET", `/v1/approvals/${requested.approvalId}`);
    expect(one.body.waitMs).toBeGreaterThanOrEqual(0);
    expect((await aegis.api<Json>("GET", "/v1/approvals/apr_01aaaaaaaaaaaaaaaaaaaaaaaa")).status).toBe(404);
    sse.close();
  });

  it("two parallel tool calls give two approvals", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aegis-par-"));
    model.script("apr-parallel", [
      {
        toolUse: [
          { name: "Write", input: { file_path: join(dir, "one.txt"), content: "1" } },
          { name: "Write", input: { file_path: join(dir, "two.txt"), content: "2" } },
        ],
      },
      { text: "both done" },
    ]);
    const created = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: dir,
      name: "apr-parallel",
      prompt: "apr-parallel: two files",
    });
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    // Claude Code asks about parallel calls one after the other: each gets its own approval.
    const first = await sse.waitForType("approval.requested");
    await aegis.api("POST", `/v1/approvals/${first.data.data.approvalId}`, { decision: "allow_once" });
    const second = await sse.waitForType("approval.requested", (d) => d.approvalId !== first.data.data.approvalId);
    await aegis.api("POST", `/v1/approvals/${second.data.data.approvalId}`, { decision: "allow_once" });
    await sse.waitTurnsEnded(1);
    const all = await aegis.api<Json>("GET", `/v1/approvals?sessionId=${created.body.id}`);
    expect(all.body.items.map((a: Json) => a.status)).toEqual(["approved", "approved"]);
    // A name works wherever an id does.
    const byName = await aegis.api<Json>("GET", "/v1/approvals?sessionId=apr-parallel");
    expect(byName.body.items.map((a: Json) => a.id)).toEqual(all.body.items.map((a: Json) => a.id));
    expect(readFileSync(join(dir, "one.txt"), "utf8")).toBe("1");
    expect(readFileSync(join(dir, "two.txt"), "utf8")).toBe("2");
    sse.close();
  });

  it("times out an undecided approval, tells the model, and warns while it waits", async () => {
    const quick = await startAegis(model.url, { "approvals.timeoutSeconds": 2, "approvals.waitWarningSeconds": 1 });
    try {
      const dir = mkdtempSync(join(tmpdir(), "aegis-to-"));
      const script = model.script("apr-timeout", [
        { toolUse: { name: "Write", input: { file_path: join(dir, "late.txt"), content: "late" } } },
        { text: "gave up" },
      ]);
      const created = await quick.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "apr-timeout: write" });
      const sse = SseClient.admin(quick, `${quick.url}/v1/sessions/${created.body.id}/events`);
      const req = await sse.waitForType("approval.requested");
      const s = await quick.api<Json>("GET", `/v1/sessions/${created.body.id}`);
      expect(s.body.pendingApprovals[0].timeoutAt).toEqual(expect.any(String));
      await sse.waitForType("approval.waited", (d) => d.approvalId === req.data.data.approvalId);
      const resolved = await sse.waitForType("approval.resolved");
      expect(resolved.data.data).toMatchObject({ status: "expired" });
      await sse.waitTurnsEnded(1);
      expect(existsSync(join(dir, "late.txt"))).toBe(false);
      expect(toolResultText(lastToolResult(script.requests[1])[0]!)).toContain("No decision within 2 s");
      sse.close();
    } finally {
      await quick.close();
    }
  });

  it("AskUserQuestion appears as a question and /answer answers it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aegis-ask-"));
    const question = "Which database should we use?";
    const script = model.script("apr-ask", [
      {
        toolUse: {
          name: "AskUserQuestion",
          input: {
            questions: [
              {
                question,
                header: "Database",
                multiSelect: false,
                options: [
                  { label: "Postgres", description: "relational" },
                  { label: "SQLite", description: "embedded" },
                ],
              },
            ],
          },
        },
      },
      { text: "Going with it." },
    ]);
    // Under an allow-list (default deny) too: a question is not a tool call the policy decides.
    const strict = await aegis.api<Json>("PUT", "/v1/policies/default", {
      default: "deny",
      rules: [{ tool: "Read", decision: "allow", reason: "reads are fine" }],
    });
    expect(strict.status).toBe(200);
    const created = await aegis.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "apr-ask: choose" });
    const id = created.body.id;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${id}/events`);
    const asked = await sse.waitForType("question.asked");
    expect(asked.data.data.questions[0]).toMatchObject({
      question,
      options: [{ label: "Postgres" }, { label: "SQLite" }],
    });
    const s = await aegis.api<Json>("GET", `/v1/sessions/${id}`);
    expect(s.body.pendingApprovals[0]).toMatchObject({ kind: "question", toolName: "AskUserQuestion" });
    const noTool = await aegis.api<Json>("POST", `/v1/sessions/${id}/answer`, { answers: {} });
    expect(noTool.status).toBe(400);
    const res = await aegis.api<Json>("POST", `/v1/sessions/${id}/answer`, { answers: { [question]: "SQLite" } });
    expect(res.status).toBe(200);
    await sse.waitTurnsEnded(1);
    const result = toolResultText(lastToolResult(script.requests[1])[0]!);
    expect(result).toContain("SQLite");
    expect(result).toContain(question);
    expect((await aegis.api("PUT", "/v1/policies/default", { rules: [] })).status).toBe(200);
    sse.close();
  });
  it("a decision racing a kill or an escape: exactly one outcome stands, and only it is told", async () => {
    const hop = async (n: number) => {
      for (let i = 0; i < n; i++) await Promise.resolve();
    };
    const svc = aegis.app.sessions;
    for (const [op, hops] of [
      ["kill", 0],
      ["kill", 6],
      ["escape", 0],
      ["escape", 6],
    ] as const) {
      const { id, sse, requested } = await startWithPendingWrite(`apr-race-${op}-${hops}`);
      // Called on the service (HTTP requests each finish in one turn of the event loop, so they never
      // interleave this finely); the two start a few microtasks apart.
      const first = (op === "kill" ? svc.kill(id, SYSTEM_CALLER) : svc.escape(id, SYSTEM_CALLER)).then(
        () => "ok",
        (e: Json) => String(e.code),
      );
      await hop(hops);
      const decided = await svc.decide(id, true, {}, SYSTEM_CALLER).then(
        () => "ok",
        (e: Json) => String(e.code),
      );
      expect(await first).toBe("ok");
      await until("the race to settle", async () => {
        const row = await aegis.api<Json>("GET", `/v1/approvals?sessionId=${id}`);
        const status = row.body.items[0]?.status;
        return status !== "pending" ? status : undefined;
      });
      const row = (await aegis.api<Json>("GET", `/v1/approvals?sessionId=${id}`)).body.items[0];
      const resolved = sse.of("approval.resolved").filter((e) => e.data.data.approvalId === requested.approvalId);
      expect(resolved, `${op}+${hops}: one approval.resolved`).toHaveLength(1);
      expect(resolved[0]?.data.data.status).toBe(row.status);
      if (decided === "ok") expect(row.status).toBe("approved");
      else {
        expect(["APPROVAL_SETTLED", "NO_PENDING_APPROVAL", "APPROVAL_NOT_FOUND", "SESSION_NOT_LIVE"]).toContain(
          decided,
        );
        expect(row.status).toBe("cancelled");
        const audit = await aegis.api<Json>("GET", `/v1/audit?action=session.approve&sessionId=${id}`);
        expect(audit.body.items ?? []).toHaveLength(0);
      }
      if (op === "escape") await aegis.api("DELETE", `/v1/sessions/${id}`);
      sse.close();
    }
  });
  it("an interrupt cancels the turn's pending tool call: a decision after it is refused, and nothing runs", async () => {
    const { id, file, sse, requested } = await startWithPendingWrite("apr-int-approve");
    const stopped = await aegis.api<Json>("POST", `/v1/sessions/${id}/interrupt`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.pendingApprovals).toEqual([]);
    expect(stopped.body.status).not.toBe("awaiting_approval");
    const late = await aegis.api<Json>("POST", `/v1/sessions/${id}/approve`, {});
    expect(late.status).toBe(409);
    const resolved = await sse.waitForType("approval.resolved");
    expect(resolved.data.data).toMatchObject({ approvalId: requested.approvalId, status: "cancelled" });
    await sse.waitTurnsEnded(1);
    expect(existsSync(file)).toBe(false);
    const audit = (await aegis.api<Json>("GET", `/v1/audit?sessionId=${id}`)).body.items.map((r: Json) => r.action);
    expect(audit).not.toContain("session.approve");
    sse.close();
  });

  it("escape with a tool call waiting leaves the session working until the turn ends, never awaiting nothing", async () => {
    const { id, sse } = await startWithPendingWrite("apr-esc-status");
    const escaped = await aegis.api<Json>("POST", `/v1/sessions/${id}/escape`);
    expect(escaped.status).toBe(200);
    expect(escaped.body).toMatchObject({ pendingApprovals: [] });
    expect(escaped.body.status).not.toBe("awaiting_approval");
    await sse.waitTurnsEnded(1);
    sse.close();
  });

  it("interrupt, escape or a mode change racing a kill never answers 500, and nothing follows the session's end", async () => {
    for (const op of ["interrupt", "escape", "mode"] as const) {
      const { id, sse } = await startWithPendingWrite(`apr-race-${op}`);
      const call =
        op === "mode"
          ? aegis.api<Json>("PATCH", `/v1/sessions/${id}`, { permissionMode: "acceptEdits" })
          : aegis.api<Json>("POST", `/v1/sessions/${id}/${op}`);
      const [raced, killed] = await Promise.all([call, aegis.api<Json>("DELETE", `/v1/sessions/${id}`)]);
      expect(killed.status, op).toBe(200);
      // It either landed before the kill or finds the session stopped.
      expect([200, 409], `${op}: ${JSON.stringify(raced.body)}`).toContain(raced.status);
      if (raced.status === 409) expect(raced.body.error.code).toBe("SESSION_NOT_LIVE");
      await sse.waitForType("session.ended");
      await aegis.api("GET", `/v1/sessions/${id}`);
      const types = sse.events.map((e) => e.event);
      const ended = types.indexOf("session.ended");
      expect(
        types.slice(ended + 1).filter((t) => t !== "gateway.request_metered"),
        op,
      ).toEqual([]);
      sse.close();
    }
  });

  it("a kill while a tool call waits closes its transcript item as cancelled, with a tool.completed", async () => {
    const { id, sse, requested } = await startWithPendingWrite("apr-kill-tool");
    expect((await aegis.api("DELETE", `/v1/sessions/${id}`)).status).toBe(200);
    const done = await sse.waitForType("tool.completed");
    expect(done.data.data).toMatchObject({ toolUseId: requested.toolUseId, isError: true, output: "killed" });
    const t = await aegis.api<Json>("GET", `/v1/sessions/${id}/transcript`);
    const tool = t.body.items.find((i: Json) => i.kind === "tool");
    expect(tool.data).toMatchObject({ status: "cancelled", result: "killed", isError: true });
    // The turn it was in ends too, with the reason: a reader of the stream sees it end.
    const failed = await sse.waitForType("turn.failed");
    expect(failed.data.data).toMatchObject({ code: "SESSION_KILLED", message: "killed" });
    expect(t.body.items.filter((i: Json) => i.kind === "error").map((i: Json) => i.data.code)).toEqual([
      "SESSION_KILLED",
    ]);
    sse.close();
  });
  it("lists approvals across sessions only within what the key may see", async () => {
    const key = async (body: Json) => {
      const res = await aegis.api<Json>("POST", "/v1/auth/keys", body);
      expect(res.status).toBe(201);
      return { authorization: `Bearer ${res.body.token}` };
    };
    const op = await key({ name: "apr-op", role: "operator" });
    const otherOp = await key({ name: "apr-op2", role: "operator" });
    const stranger = await key({ name: "apr-acme", role: "viewer", tenant: "acme" });
    const dir = mkdtempSync(join(tmpdir(), "aegis-apr-scope-"));
    writeScript("apr-scope", join(dir, "f.txt"), "x");
    const created = await aegis.api<Json>(
      "POST",
      "/v1/sessions",
      { workDir: dir, prompt: "apr-scope: write", permissionMode: "default" },
      op,
    );
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${created.body.id}/events`);
    const requested = await sse.waitForType("approval.requested");
    const ids = async (as?: Json) =>
      (await aegis.api<Json>("GET", "/v1/approvals?limit=500", undefined, as)).body.items.map((a: Json) => a.id);
    expect(await ids(op)).toContain(requested.data.data.approvalId);
    expect(await ids()).toContain(requested.data.data.approvalId);
    expect(await ids(otherOp)).not.toContain(requested.data.data.approvalId);
    expect(await ids(stranger)).toEqual([]);
    await aegis.api("DELETE", `/v1/sessions/${created.body.id}`);
    sse.close();
  });
});
