// The `ag` command as a user runs it: init, first start, startup errors.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { startServerProcess } from "../support/server-process";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");
const dirs: string[] = [];
const home = () => {
  const d = mkdtempSync(join(tmpdir(), "aegis-cli-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function ag(args: string[], env: Record<string, string>) {
  try {
    const r = await run(process.execPath, [join(ROOT, "bin", "ag.js"), ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      timeout: 60_000,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe("ag", () => {
  it("init writes a config that the server starts with, and prints an admin key once", async () => {
    const h = home();
    const first = await ag(["init"], { AEGIS_HOME: h, HOME: h });
    expect(first.code).toBe(0);
    expect(readFileSync(join(h, "config.yaml"), "utf8")).toContain("port: 9100");
    const token = /\s(aegis_key_\S+)/.exec(first.out)?.[1];
    expect(token).toBeDefined();
    const again = await ag(["init"], { AEGIS_HOME: h, HOME: h });
    expect(again.out).toContain("already exist");
    expect(again.out).not.toContain("aegis_key_");

    // The file as init wrote it, in a shell also set up for the CLI and hooks (their variables are not config).
    const server = await startServerProcess(h, {
      AEGIS_PORT: "0",
      AEGIS_HOOK_SECRET: "hks_from_ag_hooks_install",
      AEGIS_API_KEY: token ?? "",
      AEGIS_URL: "http://127.0.0.1:9100",
    });
    try {
      expect(server.output()).toContain(`config file:          ${join(h, "config.yaml")}`);
      expect(server.output()).toContain(`data directory:       ${h}`);
      expect(server.output()).toMatch(/Claude Code:\s+\d+\.\d+\.\d+/);
      expect(server.output()).not.toContain("aegis_key_");
      const who = await fetch(`${server.url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect(who.status).toBe(200);
      expect(((await who.json()) as { role: string }).role).toBe("admin");
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });

  it("a first start without init creates and prints an admin key", async () => {
    const h = home();
    writeFileSync(join(h, "config.yaml"), "port: 0\n");
    const server = await startServerProcess(h);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const token = /\s(aegis_key_\S+)/.exec(server.output())?.[1];
      expect(token).toBeDefined();
      const res = await fetch(`${server.url}/v1/sessions`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });

  it("ag serve takes --config, --host and --port, and stops cleanly on SIGTERM", async () => {
    const h = home();
    const file = join(h, "elsewhere.yaml");
    writeFileSync(file, `dataDir: ${join(h, "data")}\nport: 9\n`);
    const child = spawn(
      process.execPath,
      [join(ROOT, "bin", "ag.js"), "serve", "--config", file, "--host", "127.0.0.1", "--port", "0"],
      {
        env: { PATH: process.env.PATH ?? "", HOME: h },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    for (let i = 0; i < 300 && !/listening on http:\/\/127\.0\.0\.1:\d+/.test(out); i++)
      await new Promise((r) => setTimeout(r, 100));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(url, out).toBeDefined();
    expect(url).not.toMatch(/:9$/);
    expect(out).toContain(`config file:          ${file}`);
    expect(out).toContain(`data directory:       ${join(h, "data")}`);
    expect((await fetch(`${url}/v1/health`)).status).toBe(200);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it.each([
    ["an unknown config key", "bogus: 1\n", {}, /bogus/],
    ["an invalid value", "port: high\n", {}, /port/],
    ["an unknown AEGIS_ variable", "", { AEGIS_PORTT: "1" }, /AEGIS_PORTT/],
    [
      "a misspelt AEGIS_ variable beside the CLI's own",
      "",
      { AEGIS_URL: "http://x", AEGIS_HOOK_SECERT: "1" },
      /AEGIS_HOOK_SECERT/,
    ],
    ["a public address without auth", "host: 0.0.0.0\nauth:\n  enabled: false\n", {}, /auth disabled/],
  ])("refuses to start with %s", async (_name, yaml, env, message) => {
    const h = home();
    writeFileSync(join(h, "config.yaml"), yaml);
    const r = await ag([], { AEGIS_HOME: h, HOME: h, ...env });
    expect(r.code).toBe(2);
    expect(r.out).toMatch(message);
  });
  it("says what to fix when the port is taken, the host is empty or a flag is not a number", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const h = home();
      const inUse = await ag(["serve", "--port", String(port)], { AEGIS_HOME: h, HOME: h });
      expect(inUse.code).toBe(2);
      expect(inUse.out).toContain(`cannot listen on 127.0.0.1:${port}: something else listens there`);
      expect(inUse.out).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      taken.close();
    }
    const h = home();
    const junk = await ag(["serve", "--port", "80abc"], { AEGIS_HOME: h, HOME: h });
    expect(junk.code).not.toBe(0);
    expect(junk.out).toContain("give the port as a whole number");
    const empty = await ag(["serve", "--host", ""], { AEGIS_HOME: h, HOME: h });
    expect(empty.code).toBe(2);
    expect(empty.out).toMatch(/host/);
    const timeout = await ag(["hooks", "install", h, "--timeout", "5abc", "--key", "x"], { HOME: h });
    expect(timeout.code).not.toBe(0);
    expect(timeout.out).toContain("give the timeout in seconds as a whole number");
    for (const bad of ["127.0.0.1:9100", "ftp://127.0.0.1", "http//x", ""]) {
      const url = await ag(["hooks", "install", h, "--key", "x", "--server", bad], { HOME: h });
      expect(url.code, bad).not.toBe(0);
      expect(url.out).toContain("--server must be the server's http:// or https:// address");
    }
    // The settings file is checked before the server registers anything (here no server listens at all).
    mkdirSync(join(h, ".claude"), { recursive: true });
    writeFileSync(join(h, ".claude", "settings.local.json"), '{"hooks":"str"}');
    const badFile = await ag(["hooks", "install", h, "--key", "x", "--server", "http://127.0.0.1:1"], { HOME: h });
    expect(badFile.code).not.toBe(0);
    expect(badFile.out).toContain("settings.local.json is not a settings file Claude Code reads");
    rmSync(join(h, ".claude"), { recursive: true });
    const down = await ag(["hooks", "install", h, "--key", "x", "--server", "http://127.0.0.1:1"], { HOME: h });
    expect(down.out).toContain("cannot reach the Aegis server at http://127.0.0.1:1");
    // Something that is not Aegis answering (here a bare web server).
    const web = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!DOCTYPE html>"));
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
      const notAegis = await ag(["hooks", "install", h, "--key", "x", "--server", url], { HOME: h });
      expect(notAegis.out).toContain(`${url} did not answer as an Aegis server does (HTTP 200); check --server`);
    } finally {
      web.close();
    }
  });
});
