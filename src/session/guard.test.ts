import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkEnv, checkWorkDir, deniedEnvName } from "./guard";

const root = mkdtempSync(join(tmpdir(), "aegis-guard-"));
const allowed = join(root, "allowed");
const outside = join(root, "outside");
mkdirSync(join(allowed, "project"), { recursive: true });
mkdirSync(outside);
symlinkSync(outside, join(allowed, "escape"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("workDir guard", () => {
  it("accepts directories inside an allowed root", async () => {
    expect(await checkWorkDir(join(allowed, "project"), [allowed])).toBe(join(allowed, "project"));
    expect(await checkWorkDir(allowed, [allowed])).toBe(allowed);
  });
  it.each([
    ["a symlink that escapes", () => join(allowed, "escape"), "WORKDIR_NOT_ALLOWED"],
    ["a .. escape", () => join(allowed, "project", "..", "..", "outside"), "WORKDIR_NOT_ALLOWED"],
    ["a sibling with the same prefix", () => `${allowed}-not`, "WORKDIR_NOT_FOUND"],
    ["a missing directory", () => join(allowed, "missing"), "WORKDIR_NOT_FOUND"],
  ])("refuses %s", async (_name, dir, code) => {
    await expect(checkWorkDir(dir(), [allowed])).rejects.toMatchObject({ code });
  });
  it("does not treat a sibling with a shared prefix as inside", async () => {
    mkdirSync(`${allowed}2`);
    await expect(checkWorkDir(`${allowed}2`, [allowed])).rejects.toMatchObject({ code: "WORKDIR_NOT_ALLOWED" });
  });
});

describe("env denylist", () => {
  it.each([
    ["PATH", "PATH"],
    ["path", "PATH"],
    ["LD_PRELOAD", "LD_*"],
    ["NODE_OPTIONS", "NODE_*"],
    ["ANTHROPIC_API_KEY", "ANTHROPIC_*"],
    ["ANTHROPIC_BASE_URL", "ANTHROPIC_*"],
    ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "CLAUDE_*"],
    ["AWS_SECRET_ACCESS_KEY", "AWS_*"],
    ["https_proxy", "HTTPS_PROXY"],
  ])("denies %s (rule %s)", (name, rule) => {
    expect(deniedEnvName(name, [])).toBe(rule);
  });
  it.each(["MY_APP_MODE", "DEBUG", "TZ", "FOO_PATH"])("allows %s", (name) => {
    expect(deniedEnvName(name, [])).toBeUndefined();
  });
  it("applies configured extra rules and names the variable in the error", () => {
    expect(() => checkEnv({ COMPANY_TOKEN: "x" }, ["COMPANY_*"])).toThrow(/COMPANY_TOKEN/);
    expect(() => checkEnv({ OK: "x" }, ["COMPANY_*"])).not.toThrow();
  });
});
