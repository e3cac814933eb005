// The audit trail over the real server: what is recorded, filters, export, offline and online
// verification, tamper detection, and fail-closed writes.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { SseClient, startAegis, type TestAegis } from "../support/aegis";
import { useAegis } from "../support/harness";
import type { ModelServer } from "../support/model-server";

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
  { "audit.checkpointEveryRecords": 5 },
);

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function agVerify(file: string, extra: string[] = []) {
  try {
    const r = await run(
      process.execPath,
      [
        join(ROOT, "bin", "ag.js"),
        "audit",
        "verify",
        file,
        "--public-key",
        join(aegis.dataDir, "audit-signing.key.pub"),
        ...extra,
      ],
      { timeout: 60_000 },
    );
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe("audit trail", () => {
  it("records every session action with who, what, when and the outcome", async () => {
    const op = (await aegis.api<Json>("POST", "/v1/auth/keys", { name: "auditor-op", role: "operator" })).body;
    const dir = mkdtempSync(join(tmpdir(), "aegis-aud-"));
    model.script("audit-flow", [
      { toolUse: { name: "Write", input: { file_path: join(dir, "a.txt"), content: "a" } } },
      { text: "wrote it" },
      { toolUse: { name: "Write", input: { file_path: join(dir, "b.txt"), content: "b" } } },
      { text: "skipped it" },
    ]);
    const s = (
      await aegis.api<Json>(
        "POST",
        "/v1/sessions",
        { workDir: dir, prompt: "audit-flow: go", env: { MY_FLAG: "1" } },
        bearer(op.token),
      )
    ).body;
    const sse = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.id}/events`);
    await sse.waitForType("approval.requested");
    await aegis.api("POST", `/v1/sessions/${s.id}/approve`, {}, bearer(op.token));
    await sse.waitTurnsEnded(1);
    await aegis.api("POST", `/v1/sessions/${s.id}/messages`, { text: "audit-flow: again" }, bearer(op.token));
    await sse.waitForType("approval.requested", (d) => d.input?.file_path?.endsWith("b.txt"));
    await aegis.api("POST", `/v1/sessions/${s.id}/reject`, { message: "no" }, bearer(op.token));
    await sse.waitTurnsEnded(2);
    await aegis.api("POST", `/v1/sessions/${s.id}/escape`, undefined, bearer(op.token));
    await aegis.api("DELETE", `/v1/sessions/${s.id}`, undefined, bearer(op.token));
    sse.close();

    const res = await aegis.api<Json>("GET", `/v1/audit?sessionId=${s.id}`);
    expect(res.status).toBe(200);
    const actions = res.body.items.map((r: Json) => r.action);
    expect(actions).toEqual([
      "session.create",
      "session.approve",
      "session.message",
      "session.reject",
      "session.escape",
      "session.kill",
    ]);
    const create = res.body.items[0];
    expect(create.actor).toEqual({ keyId: op.id, role: "operator", tenant: "default", ip: "127.0.0.1" });
    expect(create.target).toEqual({ type: "session", id: s.id });
    expect(create.params).toMatchObject({ workDir: dir, envNames: ["MY_FLAG"] });
    expect(create.outcome).toBe("ok");
    expect(res.body.items[3].params).toMatchObject({ toolName: "Write", message: "no" });
    for (const r of res.body.items) expect(r.hash).toMatch(/^[0-9a-f]{64}$/);

    const byActor = await aegis.api<Json>("GET", `/v1/audit?actor=${op.id}&action=session.kill`);
    expect(byActor.body.items).toHaveLength(1);
    const page = await aegis.api<Json>("GET", `/v1/audit?sessionId=${s.id}&limit=2`);
    const next = await aegis.api<Json>("GET", `/v1/audit?sessionId=${s.id}&limit=2&cursor=${page.body.nextCursor}`);
    expect(next.body.items[0].action).toBe("session.message");
    const future = await aegis.api<Json>(
      "GET",
      `/v1/audit?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(future.body.items).toEqual([]);
  });

  it("records key changes, auth failures and denials, and only admins may read it", async () => {
    const k = (await aegis.api<Json>("POST", "/v1/auth/keys", { name: "short-lived", role: "viewer" })).body;
    await aegis.api("POST", `/v1/auth/keys/${k.id}/rotate`, {});
    await aegis.api("GET", "/v1/audit", undefined, bearer(k.token));
    await aegis.api("GET", "/v1/sessions", undefined, bearer("not-a-key"));
    await aegis.api("DELETE", `/v1/auth/keys/${k.id}`);
    const keyEvents = await aegis.api<Json>("GET", `/v1/audit?sessionId=${k.id}`);
    expect(keyEvents.body.items.map((r: Json) => r.action)).toEqual(["key.create", "key.rotate", "key.revoke"]);
    const denied = await aegis.api<Json>("GET", `/v1/audit?action=auth.denied&actor=${k.id}`);
    expect(denied.body.items[0]).toMatchObject({ outcome: "denied", params: { permission: "audit.read" } });
    const failed = await aegis.api<Json>("GET", "/v1/audit?action=auth.failed&outcome=denied");
    expect(failed.body.items.at(-1)).toMatchObject({
      actor: { keyId: null, ip: "127.0.0.1" },
      params: { reason: "invalid key" },
    });
  });

  it("exports NDJSON and CSV that verify offline, and detects tampering with the export", async () => {
    const verify = await aegis.api<Json>("GET", "/v1/audit/verify");
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.checkpointsVerified).toBeGreaterThan(0);
    // The signed checkpoints and the public key, the same key the offline verifier takes.
    const checkpoints = await aegis.api<Json>("GET", "/v1/audit/checkpoints");
    expect(checkpoints.status).toBe(200);
    expect(checkpoints.body.items.length).toBe(verify.body.checkpointsVerified);
    expect(checkpoints.body.publicKeyPem).toBe(readFileSync(join(aegis.dataDir, "audit-signing.key.pub"), "utf8"));

    const nd = await fetch(`${aegis.url}/v1/audit?format=ndjson`, { headers: bearer(aegis.adminToken) });
    expect(nd.headers.get("content-type")).toContain("application/x-ndjson");
    const text = await nd.text();
    const lines = text.trimEnd().split("\n");
    expect(lines.some((l) => l.includes('"type":"checkpoint"'))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "aegis-export-"));
    const file = join(dir, "audit.ndjson");
    writeFileSync(file, text);
    const ok = await agVerify(file);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^OK: \d+ records/);

    const records = lines.filter((l) => !l.includes('"type":"checkpoint"'));
    const changed = lines.map((l) => (l === records[2] ? l.replace('"outcome":"ok"', '"outcome":"error"') : l));
    writeFileSync(join(dir, "changed.ndjson"), `${changed.join("\n")}\n`);
    const bad = await agVerify(join(dir, "changed.ndjson"));
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`first bad seq ${JSON.parse(records[2]!).seq}`);

    const deleted = lines.filter((l) => l !== records[4]);
    writeFileSync(join(dir, "deleted.ndjson"), `${deleted.join("\n")}\n`);
    expect((await agVerify(join(dir, "deleted.ndjson"))).out).toContain("TAMPERED");

    // Cutting the tail (checkpoints included) is caught with the anchor file kept outside the database.
    await aegis.app.audit.tick();
    const cut = records.slice(0, 3);
    writeFileSync(join(dir, "cut.ndjson"), `${cut.join("\n")}\n`);
    const cutResult = await agVerify(join(dir, "cut.ndjson"), [
      "--checkpoints",
      join(aegis.dataDir, "audit-checkpoints.ndjson"),
    ]);
    expect(cutResult.code).toBe(1);
    expect(cutResult.out).toContain("TAMPERED");
    // Cut down to nothing, an export vouches for nothing: it does not pass.
    writeFileSync(join(dir, "empty.ndjson"), "");
    const empty = await agVerify(join(dir, "empty.ndjson"));
    expect(empty.code).toBe(1);
    expect(empty.out).toContain("NOTHING VERIFIED");
    // A key file that is not a public key is named as such.
    const notKey = await run(process.execPath, [
      join(ROOT, "bin", "ag.js"),
      "audit",
      "verify",
      file,
      "--public-key",
      file,
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(notKey).toMatchObject({ code: 1, stderr: expect.stringContaining("is not a PEM public key") });

    const filtered = await fetch(`${aegis.url}/v1/audit?format=ndjson&action=session.kill`, {
      headers: bearer(aegis.adminToken),
    });
    const killLines = (await filtered.text()).trimEnd().split("\n");
    expect(killLines.length).toBeGreaterThan(0);
    expect(killLines.every((l) => JSON.parse(l).action === "session.kill")).toBe(true);

    const csv = await fetch(`${aegis.url}/v1/audit?format=csv`, { headers: bearer(aegis.adminToken) });
    const csvText = await csv.text();
    expect(csvText.split("\r\n")[0]).toContain("seq");
    expect(csvText.split("\r\n").length).toBeGreaterThan(records.length);
  });

  it("detects a record changed in the database and names the first bad seq", async () => {
    const db = aegis.app.db;
    // What an attacker with write access would do: drop the append-only guard and edit history.
    const triggers = await sql<{
      name: string;
    }>`select name from sqlite_master where type = 'trigger' and tbl_name = 'audit_records'`.execute(db);
    for (const t of triggers.rows) await sql.raw(`drop trigger ${t.name}`).execute(db);
    await sql`update audit_records set params = '{"workDir":"/elsewhere"}' where seq = 2`.execute(db);
    const verify = await aegis.api<Json>("GET", "/v1/audit/verify");
    expect(verify.body).toMatchObject({ ok: false, firstBadSeq: 2 });
  });

  it("fails closed: when the audit write fails the action is not carried out", async () => {
    const strict = await startAegis(model.url);
    try {
      await sql`create trigger audit_down before insert on audit_records begin select raise(abort, 'disk full'); end`.execute(
        strict.app.db,
      );
      const dir = mkdtempSync(join(tmpdir(), "aegis-fc-"));
      const res = await strict.api<Json>("POST", "/v1/sessions", { workDir: dir });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("AUDIT_UNAVAILABLE");
      const list = await strict.api<Json>("GET", "/v1/sessions");
      expect(list.body.items).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it("fails closed for a mode change, escape and kill: nothing changes while the audit is down", async () => {
    const strict = await startAegis(model.url);
    try {
      model.script("fc-ops", [{ text: "slow first", delayMs: 150, chunks: 8 }, { text: "the queued one ran" }]);
      const dir = mkdtempSync(join(tmpdir(), "aegis-fc-"));
      const created = await strict.api<Json>("POST", "/v1/sessions", { workDir: dir, prompt: "fc-ops: one" });
      const id = created.body.id;
      const sse = SseClient.admin(strict, `${strict.url}/v1/sessions/${id}/events`);
      await sse.waitForType("message.delta");
      expect((await strict.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "fc-ops: two" })).status).toBe(202);
      await sql`create trigger audit_down before insert on audit_records begin select raise(abort, 'disk full'); end`.execute(
        strict.app.db,
      );
      for (const [method, path, body] of [
        ["PATCH", `/v1/sessions/${id}`, { permissionMode: "bypassPermissions" }],
        ["POST", `/v1/sessions/${id}/escape`, undefined],
        ["DELETE", `/v1/sessions/${id}`, undefined],
      ] as const) {
        const res = await strict.api<Json>(method, path, body);
        expect(res.status, `${method} ${path}`).toBe(503);
        expect(res.body.error.code).toBe("AUDIT_UNAVAILABLE");
      }
      const now = (await strict.api<Json>("GET", `/v1/sessions/${id}`)).body;
      expect(now.permissionMode).toBe("default");
      expect(now.status).not.toBe("stopped");
      await sql`drop trigger audit_down`.execute(strict.app.db);
      // The queued prompt was not dropped by the refused escape, and the refused kill left the session working.
      await sse.waitFor(
        (e) => e.event === "message.completed" && e.data.data.text === "the queued one ran",
        60_000,
        "q",
      );
      expect(sse.of("session.updated")).toEqual([]);
      expect((await strict.api<Json>("DELETE", `/v1/sessions/${id}`)).status).toBe(200);
      sse.close();
    } finally {
      await strict.close();
    }
  });

  it("fails closed for a prompt: it never reaches Claude Code, and the session stays usable", async () => {
    const strict = await startAegis(model.url);
    try {
      model.script("fc-prompt", [{ text: "answered after the audit came back" }]);
      const dir = mkdtempSync(join(tmpdir(), "aegis-fc-"));
      const created = await strict.api<Json>("POST", "/v1/sessions", { workDir: dir });
      const id = created.body.id;
      const sse = SseClient.admin(strict, `${strict.url}/v1/sessions/${id}/events`);
      const idle = (reason: string) => (e: { event?: string; data: Json }) =>
        e.event === "session.status_changed" && e.data.data.to === "idle" && e.data.data.reason === reason;
      await sse.waitFor(idle("ready"), 60_000, "ready");
      await sql`create trigger audit_down before insert on audit_records begin select raise(abort, 'disk full'); end`.execute(
        strict.app.db,
      );
      const refused = await strict.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "fc-prompt: lost?" });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe("AUDIT_UNAVAILABLE");
      expect((await strict.api<Json>("GET", `/v1/sessions/${id}`)).body.status).toBe("idle");
      const transcript = await strict.api<Json>("GET", `/v1/sessions/${id}/transcript`);
      expect(transcript.body.items).toEqual([]);

      await sql`drop trigger audit_down`.execute(strict.app.db);
      const sent = await strict.api<Json>("POST", `/v1/sessions/${id}/messages`, { text: "fc-prompt: now" });
      expect(sent.status).toBe(202);
      expect(sent.body).toEqual({ queued: false, position: 0 });
      await sse.waitFor(idle("turn completed"), 60_000, "turn end");
      // Claude Code saw only the prompt that was audited.
      const asked = model.turnRequests("fc-prompt").map((r) => r.conversation);
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.every((c) => c === "fc-prompt: now")).toBe(true);
      sse.close();
    } finally {
      await strict.close();
    }
  });
});
