// Loads the configuration: defaults < YAML file < AEGIS_* environment, validated as one object.
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type Config, ConfigSchema } from "./schema";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Variables Aegis's clients read, not the server: the shell that runs `ag hooks install` or a
 * governed `claude` may start the server too, so the loader passes over them (a typo of a config
 * key is still refused).
 */
export const CLIENT_ENV = {
  /** The installation secret Claude Code's hooks send; `ag hooks install` prints it. */
  hookSecret: "AEGIS_HOOK_SECRET",
  /** The API key `ag hooks install` uses without --key. */
  apiKey: "AEGIS_API_KEY",
  /** The server `ag hooks install` talks to without --server. */
  url: "AEGIS_URL",
} as const;

/** Variables with the AEGIS_ prefix that are not config keys. */
const NON_CONFIG_ENV = new Set<string>(["AEGIS_CONFIG", ...Object.values(CLIENT_ENV)]);
/** Short names kept for convenience. */
const ENV_ALIASES: Record<string, string[]> = { AEGIS_HOME: ["dataDir"], AEGIS_AUTH_TOKEN: ["auth", "token"] };

const toEnvName = (path: string[]) =>
  `AEGIS_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("__")}`;

/** `schema` with defaults and optionality taken off. */
function bare<S extends z.ZodType | undefined>(schema: S): z.ZodType | S {
  let node: z.ZodType | S = schema;
  while (
    node instanceof z.ZodDefault ||
    node instanceof z.ZodPrefault ||
    node instanceof z.ZodOptional ||
    node instanceof z.ZodNullable
  ) {
    node = node.unwrap() as z.ZodType;
  }
  return node;
}

/** Every key path the schema accepts, each object's own path before its keys'. */
export function configKeyPaths(schema: z.ZodType = ConfigSchema, prefix: string[] = []): string[][] {
  const inner = bare(schema);
  if (!(inner instanceof z.ZodObject)) return [prefix];
  const out = prefix.length > 0 ? [prefix] : [];
  for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
    out.push(...configKeyPaths(child, [...prefix, key]));
  }
  return out;
}

/** The schema at `path` with defaults and optionality taken off; undefined past its end. */
function schemaAt(path: string[], schema: z.ZodType = ConfigSchema): z.ZodType | undefined {
  let node: z.ZodType | undefined = bare(schema);
  for (const key of path) {
    if (!(node instanceof z.ZodObject)) return undefined;
    node = bare((node.shape as Record<string, z.ZodType>)[key]);
  }
  return node;
}

/** Maps every settable key path to its AEGIS_* name, derived from the schema itself. */
const envKeys = () => new Map(configKeyPaths().map((path) => [toEnvName(path), path]));

function setPath(target: Record<string, unknown>, path: string[], value: unknown) {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function formatIssues(error: z.ZodError, source: string, fromEnv = new Map<string, string>()): string {
  const lines = error.issues.map((i) => {
    const key = i.path.join(".");
    const variable = fromEnv.get(key);
    return `  - ${key || "(root)"}${variable ? ` (set by ${variable})` : ""}: ${i.message}`;
  });
  return `Invalid configuration (${source}):\n${lines.join("\n")}`;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  file?: string;
  overrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadOptions = {}): { config: Config; file: string | undefined } {
  const env = opts.env ?? process.env;
  const raw: Record<string, unknown> = {};

  const home = env.AEGIS_HOME ?? join(homedir(), ".aegis");
  const explicit = opts.file ?? env.AEGIS_CONFIG;
  const file = explicit ? resolve(explicit) : join(home, "config.yaml");
  if (explicit && !existsSync(file)) throw new ConfigError(`Config file not found: ${file}`);
  if (existsSync(file) && statSync(file).isDirectory())
    throw new ConfigError(`Config file ${file} is a directory; name the YAML file itself`);
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, "utf8"));
    } catch (err) {
      throw new ConfigError(`Config file ${file} is not valid YAML: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new ConfigError(`Config file ${file} must hold a mapping of keys to values`);
      }
      Object.assign(raw, parsed);
    }
  }
  const fromFile = ConfigSchema.safeParse(raw);
  if (!fromFile.success) throw new ConfigError(formatIssues(fromFile.error, file));

  const keys = envKeys();
  /** Which variable set each key path, so a message can name it. */
  const fromEnv = new Map<string, string>();
  for (const [name, path] of Object.entries(ENV_ALIASES)) keys.set(name, path);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("AEGIS_") || NON_CONFIG_ENV.has(name) || value === undefined) continue;
    const path = keys.get(name);
    if (!path) {
      throw new ConfigError(`Unknown environment variable ${name}. Known: ${[...keys.keys()].sort().join(", ")}`);
    }
    // YAML scalars give numbers and booleans their types; `{…}` and `[…]` give maps and lists. A key
    // that takes text takes the value as written: a token of digits is not a number.
    const target = schemaAt(path);
    let parsedValue: unknown = value;
    if (!(target instanceof z.ZodString || target instanceof z.ZodEnum)) {
      try {
        parsedValue = parseYaml(value);
      } catch {
        parsedValue = value;
      }
    }
    setPath(raw, path, parsedValue);
    fromEnv.set(path.join("."), name);
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) setPath(raw, k.split("."), v);

  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error, "environment", fromEnv));
  return { config: result.data, file: existsSync(file) ? file : undefined };
}
