import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type OpenedDb, openDb } from "../store/db";
import { migrate } from "../store/migrations";
import type { Policy, PolicyScope } from "./schema";
import { policyStore } from "./store";

let opened: OpenedDb;
beforeEach(async () => {
  opened = openDb(":memory:");
  await migrate(opened.db);
});
afterEach(() => opened.close());

const server: PolicyScope = { type: "server", id: "server" };
const tenant: PolicyScope = { type: "tenant", id: "acme" };
const key: PolicyScope = { type: "key", id: "key_1" };
const doc = (reason: string): Policy => ({ rules: [{ tool: "Bash", decision: "ask", reason }] });
const put = (scope: PolicyScope, policy: Policy | null, at = "2026-03-01T00:00:00.000Z") =>
  policyStore.insert(opened.db, { scope, policy, createdAt: at, createdBy: "key_admin" });

describe("policyStore", () => {
  it("versions every change per scope and reads the latest", async () => {
    expect(await policyStore.latest(opened.db, tenant)).toBeUndefined();
    const v1 = await put(tenant, doc("one"));
    const v2 = await put(tenant, doc("two"));
    const other = await put(key, doc("key"));
    expect([v1.version, v2.version, other.version]).toEqual([1, 2, 1]);
    expect(await policyStore.latest(opened.db, tenant)).toEqual(v2);
    expect(await policyStore.version(opened.db, tenant, 1)).toEqual(v1);
    expect(await policyStore.version(opened.db, tenant, 3)).toBeUndefined();
    expect(v2).toEqual({
      scope: tenant,
      version: 2,
      policy: doc("two"),
      createdAt: "2026-03-01T00:00:00.000Z",
      createdBy: "key_admin",
    });
  });

  it("keeps history when a policy is removed", async () => {
    await put(tenant, doc("one"));
    const removed = await put(tenant, null);
    expect(removed.version).toBe(2);
    expect((await policyStore.latest(opened.db, tenant))?.policy).toBeNull();
    expect((await policyStore.history(opened.db, tenant, { limit: 10 })).map((p) => p.version)).toEqual([2, 1]);
    expect(await policyStore.listLatest(opened.db)).toEqual([]);
  });

  it("pages through history newest first", async () => {
    for (let i = 1; i <= 5; i++) await put(server, doc(`v${i}`));
    const page1 = await policyStore.history(opened.db, server, { limit: 2 });
    const page2 = await policyStore.history(opened.db, server, { limit: 2, before: page1.at(-1)?.version });
    expect(page1.map((p) => p.version)).toEqual([5, 4]);
    expect(page2.map((p) => p.version)).toEqual([3, 2]);
  });

  it("loads the latest version of several scopes in one call", async () => {
    await put(server, doc("s1"));
    await put(server, doc("s2"));
    await put(tenant, doc("t1"));
    await put({ type: "tenant", id: "other" }, doc("other"));
    const layers = await policyStore.latestFor(opened.db, [server, tenant, key]);
    expect(layers.map((l) => [l.scope.type, l.version, l.policy?.rules[0]?.reason]).sort()).toEqual([
      ["server", 2, "s2"],
      ["tenant", 1, "t1"],
    ]);
    expect(await policyStore.latestFor(opened.db, [])).toEqual([]);
  });

  it("lists the policies in force, optionally of one scope type", async () => {
    await put(server, doc("s"));
    await put(tenant, doc("t1"));
    await put(tenant, doc("t2"));
    await put(key, doc("k"));
    await put(key, null);
    expect((await policyStore.listLatest(opened.db)).map((p) => `${p.scope.type}:${p.version}`)).toEqual([
      "server:1",
      "tenant:2",
    ]);
    expect((await policyStore.listLatest(opened.db, "tenant")).map((p) => p.scope.id)).toEqual(["acme"]);
  });

  it("refuses two rows for the same scope version", async () => {
    await put(tenant, doc("one"));
    const raw = opened.raw.prepare(
      "insert into policies (scope_type, scope_id, version, document, created_at) values ('tenant','acme',1,'null','x')",
    );
    expect(() => raw.run()).toThrow(/UNIQUE|PRIMARY KEY/);
  });
});
