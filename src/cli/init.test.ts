import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configKeyPaths, loadConfig } from "../config/load";
import { ConfigSchema } from "../config/schema";
import { CONFIG_TEMPLATE } from "./init";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The template with its commented-out keys (`# key: example`) switched on; prose comments stay. */
const withExamples = (text: string) => text.replace(/^( *)# ( *[A-Za-z][A-Za-z0-9]*:( .*)?)$/gm, "$1$2");

const has = (doc: unknown, path: string[]) => {
  let node = doc;
  for (const key of path) {
    if (!node || typeof node !== "object" || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
};

describe("ag init's config template", () => {
  it("names every key of the config schema, active or as a commented example", () => {
    const doc = parse(withExamples(CONFIG_TEMPLATE));
    const missing = configKeyPaths()
      .map((p) => p.join("."))
      .filter((p) => !has(doc, p.split(".")));
    expect(missing).toEqual([]);
    // ...and nothing the schema does not know (placeholder values like `token: ...` may fail, names may not).
    const parsed = ConfigSchema.safeParse(doc);
    const unknown = parsed.success ? [] : parsed.error.issues.filter((i) => i.code === "unrecognized_keys");
    expect(unknown).toEqual([]);
  });

  it("sees a key missing from the template", () => {
    const without = CONFIG_TEMPLATE.replace(/^ {2}deltaIntervalMs: .*$/m, "");
    expect(without).not.toBe(CONFIG_TEMPLATE);
    expect(has(parse(withExamples(without)), ["events", "deltaIntervalMs"])).toBe(false);
  });

  it("loads as written, and each active value is the default", () => {
    const home = mkdtempSync(join(tmpdir(), "aegis-init-"));
    dirs.push(home);
    const defaults = loadConfig({ env: { AEGIS_HOME: home } }).config;
    writeFileSync(join(home, "config.yaml"), CONFIG_TEMPLATE);
    const { config, file } = loadConfig({ env: { AEGIS_HOME: home } });
    expect(file).toBe(join(home, "config.yaml"));
    expect(config).toEqual(defaults);
  });
});
