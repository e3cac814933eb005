import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HOOK_SECRET_ENV } from "../hooks/schema";
import { CLIENT_ENV, ConfigError, loadConfig } from "./load";

const dirs: string[] = [];
const home = () => {
  const d = mkdtempSync(join(tmpdir(), "aegis-cfg-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("loadConfig", () => {
  it("defaults to loopback:9100 with the data dir from AEGIS_HOME", () => {
    const h = home();
    const { config, file } = loadConfig({ env: { AEGIS_HOME: h } });
    expect(config).toMatchObject({ host: "127.0.0.1", port: 9100, dataDir: h, logLevel: "info" });
    expect(config.runtime.disableNonessentialTraffic).toBe(true);
    expect(file).toBeUndefined();
  });

  it("reads config.yaml from the data dir, and AEGIS_* variables override it", () => {
    const h = home();
    writeFileSync(join(h, "config.yaml"), "port: 9200\nsse:\n  heartbeatMs: 500\nruntime:\n  env:\n    FOO: bar\n");
    const { config, file } = loadConfig({ env: { AEGIS_HOME: h, AEGIS_PORT: "9300", AEGIS_SSE__QUEUE_LIMIT: "7" } });
    expect(file).toBe(join(h, "config.yaml"));
    expect(config.port).toBe(9300);
    expect(config.sse).toEqual({ heartbeatMs: 500, queueLimit: 7 });
    expect(config.runtime.env).toEqual({ FOO: "bar" });
  });

  it("takes a map from an environment variable as YAML/JSON", () => {
    const { config } = loadConfig({ env: { AEGIS_HOME: home(), AEGIS_RUNTIME__ENV: '{"A":"1"}' } });
    expect(config.runtime.env).toEqual({ A: "1" });
  });

  it("uses AEGIS_CONFIG for an explicit file and the dataDir it names", () => {
    const h = home();
    const file = join(h, "custom.yaml");
    writeFileSync(file, `dataDir: ${join(h, "data")}\nhost: 0.0.0.0\n`);
    const { config } = loadConfig({ env: { AEGIS_CONFIG: file } });
    expect(config.dataDir).toBe(join(h, "data"));
    expect(config.host).toBe("0.0.0.0");
  });

  it("passes over the variables Aegis's clients read (hook secret, CLI key and URL)", () => {
    const env = { AEGIS_HOOK_SECRET: "hks_x", AEGIS_API_KEY: "aegis_key_x", AEGIS_URL: "http://127.0.0.1:1" };
    expect(Object.keys(env).sort()).toEqual(Object.values(CLIENT_ENV).sort());
    expect(HOOK_SECRET_ENV).toBe(CLIENT_ENV.hookSecret);
    const { config } = loadConfig({ env: { AEGIS_HOME: home(), ...env } });
    expect(config.port).toBe(9100);
  });

  const bad: Array<[string, Record<string, string>, string | undefined, RegExp]> = [
    ["unknown key in the file", {}, "bogus: 1\n", /bogus/],
    ["nested unknown key", {}, "sse:\n  speed: 3\n", /sse/],
    ["wrong type in the file", {}, "port: lots\n", /port/],
    ["port out of range", { AEGIS_PORT: "70000" }, undefined, /port/],
    ["unknown AEGIS_ variable", { AEGIS_PROT: "1" }, undefined, /Unknown environment variable AEGIS_PROT/],
    [
      "misspelt key beside a client variable",
      { AEGIS_URL: "x", AEGIS_SSE__HEARTBEAT: "1" },
      undefined,
      /AEGIS_SSE__HEARTBEAT\b/,
    ],
    ["misspelt client variable", { AEGIS_HOOK_SECERT: "x" }, undefined, /AEGIS_HOOK_SECERT/],
    ["invalid enum", { AEGIS_LOG_LEVEL: "loud" }, undefined, /logLevel/],
    ["file that is not a mapping", {}, "- a\n- b\n", /mapping/],
    ["file that is not YAML", {}, "port: [1,\n", /not valid YAML/],
    // Past 2^31 − 1 ms Node fires a timer at once: a heartbeat every millisecond, approvals denied at once.
    [
      "a heartbeat past Node's timer limit",
      { AEGIS_SSE__HEARTBEAT_MS: "9999999999" },
      undefined,
      /sse.heartbeatMs.*at most 2147483647 ms/,
    ],
    [
      "an approval timeout past it",
      {},
      "approvals:\n  timeoutSeconds: 99999999\n",
      /approvals.timeoutSeconds.*at most 2147483 seconds/,
    ],
    ["a checkpoint interval past it", {}, "audit:\n  checkpointEverySeconds: 99999999\n", /checkpointEverySeconds/],
    ["a start timeout past it", { AEGIS_RUNTIME__START_TIMEOUT_MS: "3000000000" }, undefined, /startTimeoutMs/],
  ];
  it.each(bad)("refuses %s with a clear message", (_name, env, yaml, message) => {
    const h = home();
    if (yaml !== undefined) writeFileSync(join(h, "config.yaml"), yaml);
    expect(() => loadConfig({ env: { AEGIS_HOME: h, ...env } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { AEGIS_HOME: h, ...env } })).toThrow(message);
  });

  it("takes a variable for a text key as written, and names the variable when a value is wrong", () => {
    const h = home();
    const digits = "123456789012345678901234567890";
    const c = loadConfig({
      env: { AEGIS_HOME: h, AEGIS_AUTH_TOKEN: digits, AEGIS_GATEWAY__UPSTREAM__API_KEY: "1e999", AEGIS_PORT: "9200" },
    }).config;
    expect(c.auth.token).toBe(digits);
    expect(c.gateway.upstream.apiKey).toBe("1e999");
    expect(c.port).toBe(9200);
    expect(() => loadConfig({ env: { AEGIS_HOME: h, AEGIS_PORT: "high" } })).toThrow(/port \(set by AEGIS_PORT\)/);
  });

  it("refuses a missing explicit config file, or a directory in its place", () => {
    expect(() => loadConfig({ env: { AEGIS_CONFIG: "/nope/aegis.yaml" } })).toThrow(/not found/);
    expect(() => loadConfig({ env: { AEGIS_CONFIG: home() } })).toThrow(/is a directory; name the YAML file itself/);
  });
});
