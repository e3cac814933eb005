// Secrets never leave the server: not in responses (beyond the one that hands a new key or hook
// secret out), not in events, not in the audit trail, not in log lines. Covered: API keys (also
// rotated), SSE tokens, the bootstrap and metrics tokens, hook installation secrets, a session's
// gateway token (in its Claude Code's environment), the upstream API key and a session's own env.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SseClient, type TestAegis } from "../support/aegis";
import { useAegis } from "../support/harness";
import type { ModelServer } from "../support/model-server";

type Json = Record<string, any>;
let model: ModelServer;
let aegis: TestAegis;
const metricsToken = `metrics-${"s3cr3t".repeat(5)}`;

useAegis(
  (m, a) => {
    model = m;
    aegis = a;
  },
  { logLevel: "trace", "metrics.token": metricsToken },
);

/** Reads the gateway token back from a tool call that printed it reversed (past the transcript's scrubbing). */
function reversedToken(transcript: Json): string {
  const out = transcript.items.map((i: Json) => String(i.data?.result ?? "")).join("\n");
  return [...(/REV=(\S+)/.exec(out)?.[1] ?? "")].reverse().join("");
}

describe("secrets", () => {
  it("appear in no response, event, audit record or log line", async () => {
    const responses: string[] = [];
    const call = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
      const res = await aegis.api<Json>(method, path, body, headers);
      responses.push(JSON.stringify(res.body), JSON.stringify([...res.headers]));
      return res;
    };
    const created = await aegis.api<Json>("POST", "/v1/auth/keys", { name: "op", role: "operator" });
    const opToken: string = created.body.token;
    const rotated = await aegis.api<Json>("POST", `/v1/auth/keys/${created.body.id}/rotate`, {
      gracePeriodSeconds: 60,
    });
    const newToken: string = rotated.body.token;
    const as = (t: string) => ({ authorization: `Bearer ${t}` });
    const sse = (await aegis.api<Json>("POST", "/v1/auth/sse-token", undefined, as(newToken))).body.token as string;
    const sessionSecret = "s3cr3t-value-for-the-session-env";

    model.script("secrets-run", [
      { toolUse: { name: "Bash", input: { command: "echo $MY_DB_PASSWORD | wc -c", description: "length" } } },
      {
        toolUse: {
          name: "Bash",
          // Printed as is (the transcript must scrub it) and reversed (so the test can read it back).
          input: {
            command: 'printf "KEY=%s REV=%s" "$ANTHROPIC_API_KEY" "$(printf %s "$ANTHROPIC_API_KEY" | rev)"',
            description: "key",
          },
        },
      },
      { text: "done" },
    ]);
    const s = await call(
      "POST",
      "/v1/sessions",
      {
        workDir: mkdtempSync(join(tmpdir(), "aegis-sec-")),
        prompt: "secrets-run: go",
        env: { MY_DB_PASSWORD: sessionSecret },
        allowedTools: ["Bash"],
      },
      as(opToken),
    );
    const stream = new SseClient(`${aegis.url}/v1/sessions/${s.body.id}/events?sse_token=${sse}`);
    await stream.waitTurnsEnded(1);
    stream.close();
    await call("GET", `/v1/sessions/${s.body.id}`, undefined, as(newToken));
    const transcript = await call("GET", `/v1/sessions/${s.body.id}/transcript`, undefined, as(newToken));
    // The session's gateway token: in its Claude Code's environment, and it works at the gateway.
    const gatewayToken = reversedToken(transcript.body);
    expect(gatewayToken).toMatch(/^aegis-gw-.{20}/);
    expect(JSON.stringify(transcript.body)).toContain("KEY=[redacted] REV=");
    const gateway = (token: string) =>
      fetch(`${aegis.url}/gateway/v1/messages/count_tokens`, {
        method: "POST",
        headers: { "x-api-key": token, "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
      });
    const counted = await gateway(gatewayToken);
    expect(counted.status).toBe(200);
    responses.push(await counted.text());

    // A hook installation's secret, shown once; then used, listed, revoked and tried again.
    const installed = await aegis.api<Json>("POST", "/v1/hooks/installations", { name: "secret check" });
    expect(installed.status).toBe(201);
    const hookSecret: string = installed.body.secret;
    expect(hookSecret).toMatch(/^ahs_/);
    const hook = async () => {
      const res = await fetch(`${aegis.url}/v1/hooks/Stop`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-aegis-hook-secret": hookSecret },
        body: JSON.stringify({ session_id: "secrets-hook", cwd: tmpdir(), hook_event_name: "Stop" }),
      });
      responses.push(await res.text(), JSON.stringify([...res.headers]));
      return res.status;
    };
    expect(await hook()).toBe(200);
    await call("GET", "/v1/hooks/installations");
    expect((await call("DELETE", `/v1/hooks/installations/${installed.body.id}`)).status).toBe(200);
    expect(await hook()).toBe(401);

    // The metrics token: what it may read, what it may not, and in a URL.
    const metrics = await fetch(`${aegis.url}/metrics`, { headers: as(metricsToken) });
    expect(metrics.status).toBe(200);
    responses.push(await metrics.text());
    expect((await call("GET", "/v1/ready", undefined, as(metricsToken))).status).toBe(200);
    expect((await call("GET", "/v1/sessions", undefined, as(metricsToken))).status).toBe(403);
    await call("GET", `/v1/sessions?token=${metricsToken}`);
    await call("GET", "/v1/auth/whoami", undefined, as(`${metricsToken}x`));
    await call("GET", "/v1/auth/keys");
    await call("GET", "/v1/auth/whoami", undefined, as(opToken));
    await call("GET", "/v1/sessions", undefined, as(`${opToken}x`));
    await call("GET", `/v1/sessions?api_key=${newToken}`);
    await call("GET", `/v1/events?sse_token=${sse}`);
    await call("DELETE", `/v1/sessions/${s.body.id}`, undefined, as(newToken));
    // Once the session ended its gateway token is refused, and the refusal is audited.
    const stale = await gateway(gatewayToken);
    expect(stale.status).toBe(401);
    responses.push(await stale.text());

    const secrets = {
      adminToken: aegis.adminToken,
      operatorToken: opToken,
      rotatedToken: newToken,
      sseToken: sse,
      apiKey: String(aegis.claude.env.ANTHROPIC_API_KEY),
      sessionEnv: sessionSecret,
      gatewayToken,
      hookSecret,
      metricsToken,
    };
    const db = aegis.app.db.withTables<{
      events: { data: string };
      audit_records: { params: string; action: string };
    }>();
    const events = (await db.selectFrom("events").select("data").execute()).map((r) => r.data);
    // Whole audit records: actor, target and params.
    const audit = (await db.selectFrom("audit_records").selectAll().execute()).map((r) => JSON.stringify(r));
    expect(events.length).toBeGreaterThan(5);
    expect(audit.length).toBeGreaterThan(5);
    // The places searched hold the records that used each secret.
    const actions = audit.map((r) => JSON.parse(r).action);
    expect(actions).toEqual(expect.arrayContaining(["hooks.install", "hooks.revoke", "auth.denied", "auth.failed"]));
    expect(aegis.logs.length).toBeGreaterThan(5);
    const places = { responses, events, audit, logs: aegis.logs };
    const leaks: string[] = [];
    for (const [place, lines] of Object.entries(places)) {
      for (const [name, secret] of Object.entries(secrets)) {
        if (lines.some((l) => l.includes(secret))) leaks.push(`${name} in ${place}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it("a session's gateway token that streams back in pieces is scrubbed from the deltas too", async () => {
    // The model repeats what the tool printed, in many small pieces, slower than deltas are paced:
    // the token crosses several delta events.
    model.script("secrets-delta", [
      { toolUse: { name: "Bash", input: { command: 'printf "KEY=%s" "$ANTHROPIC_API_KEY"', description: "key" } } },
      (req) => {
        const token = /KEY=(aegis-gw-[^"\\\s]+)/.exec(JSON.stringify(req.body?.messages))?.[1] ?? "missing";
        return { text: `The key is ${token} as printed.`, chunks: 40, delayMs: 30 };
      },
    ]);
    const s = await aegis.api<Json>("POST", "/v1/sessions", {
      workDir: mkdtempSync(join(tmpdir(), "aegis-sec-delta-")),
      prompt: "secrets-delta: go",
      allowedTools: ["Bash"],
    });
    const stream = SseClient.admin(aegis, `${aegis.url}/v1/sessions/${s.body.id}/events`);
    const done = await stream.waitForType("message.completed", (d) => String(d.text).startsWith("The key is"));
    const deltas = stream.of("message.delta").filter((e) => e.data.data.turnId === done.data.data.turnId);
    expect(deltas.length).toBeGreaterThan(3);
    const streamed = deltas.map((e) => e.data.data.text).join("");
    expect(streamed).toBe("The key is [redacted] as printed.");
    expect(done.data.data.text).toBe(streamed);
    stream.close();
    await aegis.api("DELETE", `/v1/sessions/${s.body.id}`);
  });
});
