import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HookEventSchema } from "./schema";
import { checkHooksFile, installHooks, settingsPath, uninstallHooks } from "./settings-file";

const dirs: string[] = [];
const project = () => {
  const d = mkdtempSync(join(tmpdir(), "aegis-hooks-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("hook settings file", () => {
  it("adds one http hook per event with the secret taken from the environment", () => {
    const dir = project();
    const file = installHooks(dir, { serverUrl: "http://127.0.0.1:9100/", timeoutSeconds: 120 });
    const s = JSON.parse(readFileSync(file, "utf8"));
    expect(Object.keys(s.hooks).sort()).toEqual([...HookEventSchema.options].sort());
    const pre = s.hooks.PreToolUse[0];
    expect(pre.matcher).toBe("*");
    expect(pre.hooks[0]).toEqual({
      type: "http",
      url: "http://127.0.0.1:9100/v1/hooks/PreToolUse",
      headers: { "X-Aegis-Hook-Secret": "$AEGIS_HOOK_SECRET", "X-Aegis-Hook-Timeout": "120" },
      allowedEnvVars: ["AEGIS_HOOK_SECRET"],
      timeout: 120,
    });
    expect(readFileSync(file, "utf8")).not.toMatch(/ahs_/);
  });

  it("keeps the user's own settings and hooks, and uninstall removes exactly what it added", () => {
    const dir = project();
    mkdirSync(join(dir, ".claude"));
    const mine = {
      permissions: { allow: ["Bash(ls)"] },
      hooks: { PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "echo hi" }] }] },
    };
    writeFileSync(settingsPath(dir), JSON.stringify(mine));
    installHooks(dir, { serverUrl: "http://127.0.0.1:9100", timeoutSeconds: 60 });
    installHooks(dir, { serverUrl: "http://127.0.0.1:9100", timeoutSeconds: 60 }); // idempotent
    const both = JSON.parse(readFileSync(settingsPath(dir), "utf8"));
    expect(both.hooks.PreToolUse).toHaveLength(2);
    expect(both.permissions).toEqual(mine.permissions);
    expect(uninstallHooks(dir)).toBe(HookEventSchema.options.length);
    expect(JSON.parse(readFileSync(settingsPath(dir), "utf8"))).toEqual(mine);
  });

  it("deletes a settings file it created when uninstalling", () => {
    const dir = project();
    installHooks(dir, { serverUrl: "http://127.0.0.1:9100", timeoutSeconds: 60 });
    uninstallHooks(dir);
    expect(existsSync(settingsPath(dir))).toBe(false);
    expect(uninstallHooks(dir)).toBe(0);
  });
  it("refuses, naming the file and what is wrong, a settings file it cannot edit, and changes nothing", () => {
    const cases: Array<[string, RegExp]> = [
      ['{"hooks":"str"}', /is not a settings file Claude Code reads \(hooks: /],
      ['{"hooks":{"PreToolUse":5}}', /hooks\.PreToolUse: /],
      ["{oops", /is not valid JSON \(.*\); fix or remove it/],
      ["[1]", /does not hold a JSON object/],
    ];
    for (const [text, message] of cases) {
      const dir = project();
      mkdirSync(join(dir, ".claude"));
      writeFileSync(settingsPath(dir), text);
      expect(() => checkHooksFile(dir), text).toThrow(message);
      expect(() => installHooks(dir, { serverUrl: "http://127.0.0.1:9100", timeoutSeconds: 60 }), text).toThrow(
        message,
      );
      expect(() => uninstallHooks(dir), text).toThrow(message);
      expect(() => checkHooksFile(dir)).toThrow(settingsPath(dir));
      expect(readFileSync(settingsPath(dir), "utf8")).toBe(text);
    }
    const file = join(project(), "a-file");
    writeFileSync(file, "x");
    expect(() => checkHooksFile(file)).toThrow(/is not a directory/);
  });
});
