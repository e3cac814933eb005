import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuditWriter } from "../audit";
import { auditStore } from "../audit/store";
import type { Clock } from "../core/clock";
import { isAppError } from "../core/errors";
import { EventBus, type StoredEvent } from "../core/events";
import { EventStore } from "../events/store";
import { type OpenedDb, openDb } from "../store/db";
import { migrate } from "../store/migrations";
import { createTransact, type Transact } from "../store/tx";
import { parsePolicy, savePolicy } from "./service";
import { policyStore } from "./store";

const rule = (extra: Record<string, unknown>) => ({ tool: "Bash", decision: "deny", reason: "r", ...extra });

function invalid(input: unknown) {
  try {
    parsePolicy(input);
  } catch (err) {
    if (!isAppError(err)) throw err;
    return err;
  }
  throw new Error("expected the policy to be refused");
}

describe("parsePolicy names the bad rule and field", () => {
  it.each([
    [rule({ command: { regex: "([a-z" } }), "rules[1].command.regex: invalid regular expression: "],
    [rule({ command: { regex: "(?=a)b" } }), "rules[1].command.regex: invalid regular expression: "],
    [rule({ command: { regex: "(a)\\1" } }), "rules[1].command.regex: invalid regular expression: "],
    [rule({ command: { regex: "a".repeat(501) } }), "rules[1].command.regex: regular expression is longer than 500"],
    [rule({ command: { regex: "" } }), "rules[1].command.regex: the regular expression is empty"],
    [rule({ command: { glob: "  " } }), "rules[1].command.glob: the glob is blank"],
    [
      rule({ command: { glob: "x", regex: "y" } }),
      'rules[1].command: give either { "glob": "..." } or { "regex": "..." }',
    ],
    [
      rule({ tool: "Read", command: { glob: "x" } }),
      'rules[1].command: command applies only to the Bash tool, and tool "Read"',
    ],
    [rule({ tool: "Bash", path: "src/**" }), "rules[1].path: path applies only to file tools"],
    [rule({ tool: "Read", path: "src/../../etc/**" }), "rules[1].path: `..` is not allowed"],
    [rule({ tool: "Read", path: "~/.ssh/*" }), "rules[1].path: ~ is not expanded"],
    [rule({ tool: "Read", path: "!src/**" }), "rules[1].path: negated globs are not supported"],
    [rule({ tool: "*", path: "a", domain: "b.com" }), "rules[1].domain: use only one of command, path or domain"],
    [rule({ tool: "WebFetch", domain: "https://example.com/x" }), "rules[1].domain: give only the host"],
    [rule({ tool: "WebFetch", domain: "exa mple.com" }), "rules[1].domain: not a host name"],
    [rule({ tool: "WebFetch", domain: "bücher.de" }), "rules[1].domain: write internationalised names in punycode"],
    [rule({ tool: "Bash", domain: "example.com" }), "rules[1].domain: domain applies only to the WebFetch tool"],
    [rule({ tool: "Bash Read" }), "rules[1].tool: tool names have no spaces"],
    [rule({ decision: "maybe" }), "rules[1].decision: "],
    [rule({ reason: "" }), "rules[1].reason: "],
    [rule({ commnd: { glob: "x" } }), 'rules[1]: Unrecognized key: "commnd"'],
    [rule({ approvalTimeoutSeconds: 0 }), "rules[1].approvalTimeoutSeconds: "],
    [
      rule({ id: "no-rm", command: { regex: "(" } }),
      'rules[1].command.regex (rule "no-rm"): invalid regular expression',
    ],
  ])("%j", (bad, message) => {
    const err = invalid({ rules: [rule({}), bad] });
    expect(err.code).toBe("POLICY_INVALID");
    expect(err.status).toBe(400);
    expect(err.message).toContain(`Invalid policy: ${message}`);
  });

  it.each([
    [{}, "rules: "],
    [{ rules: [], default: "sometimes" }, "default: "],
    [{ rules: [], extra: 1 }, 'Unrecognized key: "extra"'],
    ["rules", "(policy): "],
  ])("whole-policy problems: %j", (bad, message) => {
    expect(invalid(bad).message).toContain(message);
  });

  it("lists every problem in details.issues", () => {
    const err = invalid({ rules: [rule({ command: { regex: "(" } }), rule({}), rule({ tool: "Read", path: "../x" })] });
    expect(err.details?.issues).toEqual([
      { path: "rules[0].command.regex", message: expect.stringContaining("invalid regular expression") },
      { path: "rules[2].path", message: expect.stringContaining("`..` is not allowed") },
    ]);
  });

  it("accepts a valid policy unchanged", () => {
    const p = {
      description: "team defaults",
      default: "ask",
      approvalTimeoutSeconds: 300,
      rules: [
        { id: "git", tool: "Bash", command: { glob: "git *" }, decision: "allow", reason: "git is fine" },
        { tool: "mcp__github__*", decision: "ask", reason: "GitHub writes need a person", approvalTimeoutSeconds: 60 },
        { tool: "{Write,Edit}", path: "src/**", decision: "allow", reason: "source edits" },
        { tool: "WebFetch", domain: "*.example.com", decision: "allow", reason: "docs" },
      ],
    };
    expect(parsePolicy(p)).toEqual(p);
  });
});

describe("savePolicy", () => {
  let opened: OpenedDb;
  let transact: Transact;
  let published: StoredEvent[];
  const clock: Clock = { now: () => new Date("2026-03-01T00:00:00.000Z"), monotonic: () => 0 };
  const actor = { keyId: "key_admin", role: "admin", tenant: "default", ip: "127.0.0.1" };

  beforeEach(async () => {
    opened = openDb(":memory:");
    await migrate(opened.db);
    const bus = new EventBus();
    published = [];
    bus.subscribe((e) => published.push(e));
    const audit = createAuditWriter({ clock });
    transact = createTransact(opened.db, new EventStore(clock).append, bus, async (db, entries) => {
      await audit.append(db, entries);
    });
  });
  afterEach(() => opened.close());

  const scope = { type: "session" as const, id: "ses_01jq0000000000000000000000" };

  it("stores a version, publishes policy.updated and audits policy.update in one unit of work", async () => {
    const policy = { rules: [rule({ command: { glob: "rm *" } })], default: "allow" };
    const at = clock.now().toISOString();
    const stored = await transact((tx) => savePolicy(tx, { scope, policy, actor, at }));
    expect(stored).toMatchObject({ scope, version: 1, createdBy: "key_admin" });
    expect(published.map((e) => [e.type, e.sessionId, e.data])).toEqual([
      ["policy.updated", scope.id, { scope, version: 1, removed: false, rules: 1 }],
    ]);
    const [audit] = await auditStore.list(opened.db, { action: "policy.update" });
    expect(audit).toMatchObject({
      action: "policy.update",
      target: { type: "session_policy", id: scope.id },
      params: { version: 1, rules: 1, default: "allow" },
      outcome: "ok",
    });

    const removed = await transact((tx) => savePolicy(tx, { scope, policy: null, actor, at }));
    expect(removed.version).toBe(2);
    expect(published[1]?.data).toMatchObject({ removed: true, version: 2 });
    expect(await auditStore.list(opened.db, { action: "policy.delete" })).toHaveLength(1);
  });

  it("stores, publishes and audits nothing for an invalid policy", async () => {
    const bad = { rules: [rule({ command: { regex: "(" } })] };
    await expect(transact((tx) => savePolicy(tx, { scope, policy: bad, actor, at: "x" }))).rejects.toMatchObject({
      code: "POLICY_INVALID",
    });
    expect(await policyStore.latest(opened.db, scope)).toBeUndefined();
    expect(published).toEqual([]);
    expect(await auditStore.list(opened.db, {})).toEqual([]);
  });
});
