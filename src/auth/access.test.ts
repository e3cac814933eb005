import { describe, expect, it } from "vitest";
import { canActOnSession, canReadSession, sessionListScope } from "./access";
import type { Principal, Role } from "./schema";

const p = (role: Role, keyId: string, tenant: string): Principal => ({
  keyId,
  name: keyId,
  role,
  tenant,
  scopes: null,
  rateLimitPerMinute: null,
  via: "api_key",
});
const sharing = (t: string) => ({ shareSessions: t === "shared" });

describe("session access", () => {
  // role, own session?, same tenant?, tenant shares?, can read, can act
  const table: Array<[Role, boolean, boolean, boolean, boolean, boolean]> = [
    ["admin", false, false, false, true, true],
    ["admin", true, true, false, true, true],
    ["operator", true, true, false, true, true],
    ["operator", false, true, false, false, false],
    ["operator", false, true, true, true, true],
    ["operator", false, false, true, false, false],
    ["operator", true, false, false, false, false],
    ["viewer", false, true, false, true, false],
    ["viewer", true, true, true, true, false],
    ["viewer", false, false, false, false, false],
  ];
  it.each(table)("%s own=%s sameTenant=%s shared=%s -> read %s act %s", (role, own, same, shares, read, act) => {
    const tenant = shares ? "shared" : "t1";
    const caller = p(role, "key_me", same ? tenant : "other");
    const session = { tenant, ownerKeyId: own ? "key_me" : "key_someone" };
    expect(canReadSession(caller, session, sharing)).toBe(read);
    expect(canActOnSession(caller, session, sharing)).toBe(act);
  });

  it("list scopes match the read rule", () => {
    expect(sessionListScope(p("admin", "k", "t1"), sharing)).toEqual({});
    expect(sessionListScope(p("viewer", "k", "t1"), sharing)).toEqual({ tenant: "t1" });
    expect(sessionListScope(p("operator", "k", "t1"), sharing)).toEqual({ tenant: "t1", ownerKeyId: "k" });
    expect(sessionListScope(p("operator", "k", "shared"), sharing)).toEqual({ tenant: "shared" });
  });
});
