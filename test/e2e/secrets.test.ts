// Secrets never leave the server: not in responses (beyond the one that hands a new key out),
// not in events, not in the audit trail, not in log lines.
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

useAegis(
  (m, a) => {
    model = m;
    aegis = a;
  },
  { logLevel: "trace" },
);

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
    await call("GET", `/v1/sessions/${s.body.id}/transcript`, undefined, as(newToken));
    await call("GET", "/v1/auth/keys");
    await call("GET", "/v1/auth/whoami", undefined, as(opToken));
    await call("GET", "/v1/sessions", undefined, as(`${opToken}x`));
    await call("GET", `/v1/sessions?api_key=${newToken}`);
    await call("GET", `/v1/events?sse_token=${sse}`);
    await call("DELETE", `/v1/sessions/${s.body.id}`, undefined, as(newToken));

    const secrets = {
      adminToken: aegis.adminToken,
      operatorToken: opToken,
      rotatedToken: newToken,
      sseToken: sse,
      apiKey: String(aegis.claude.env.ANTHROPIC_API_KEY),
      sessionEnv: sessionSecret,
    };
    const db = aegis.app.db.withTables<{ events: { data: string }; audit_records: { params: string } }>();
    const events = (await db.selectFrom("events").select("data").execute()).map((r) => r.data);
    const audit = (await db.selectFrom("audit_records").select("params").execute()).map((r) => r.params);
    expect(events.length).toBeGreaterThan(5);
    expect(audit.length).toBeGreaterThan(5);
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
});
