// What a tool call acts on (commands, paths, hosts) and whether a compiled rule matches it.
import { homedir } from "node:os";
import { posix } from "node:path";
import { fileURLToPath } from "node:url";
import picomatch from "picomatch";
import {
  compileCommandGlob,
  compileDomain,
  compilePathGlob,
  compileRegex,
  compileToolMatcher,
  hostOf,
  type Matcher,
  normalizeSpace,
} from "./glob";
import { COMMAND_TOOL, DOMAIN_TOOL, FILE_TOOLS, type Rule } from "./schema";
import { analyseCommand } from "./shell";

/** One thing a call acts on. An allow must cover every subject of a call; a deny or ask needs only one. */
export type Subject =
  | { kind: "command"; label: string; allowForms: string[]; denyForms: string[] }
  | { kind: "path"; label: string; absolute: string; relative: string | null }
  | { kind: "host"; label: string };

export interface CallSubjects {
  subjects: Subject[];
  /** The whole Bash command, seen by deny and ask rules only (a regex may span `a | b`). */
  whole: string | null;
  /** Why the call could not be followed safely; it is then never allowed without a person. */
  problem: string | null;
}

export interface CompiledRule {
  index: number;
  rule: Rule;
  tool: Matcher;
  /** Null for a rule that names only a tool: it matches every call of that tool. */
  test: ((subject: Subject, forBlock: boolean) => boolean) | null;
  testWhole: Matcher | null;
}

export function compileRule(rule: Rule, index: number): CompiledRule {
  const base = { index, rule, tool: compileToolMatcher(rule.tool), testWhole: null };
  if (rule.command) {
    const m = "regex" in rule.command ? compileRegex(rule.command.regex) : compileCommandGlob(rule.command.glob);
    return {
      ...base,
      test: (s, forBlock) => s.kind === "command" && (forBlock ? s.denyForms : s.allowForms).some(m),
      testWhole: m,
    };
  }
  if (rule.path !== undefined) {
    const p = compilePathGlob(rule.path);
    return {
      ...base,
      test: (s) => s.kind === "path" && (p.absolute ? p.match(s.absolute) : s.relative !== null && p.match(s.relative)),
    };
  }
  if (rule.domain !== undefined) {
    const m = compileDomain(rule.domain);
    return { ...base, test: (s) => s.kind === "host" && m(s.label) };
  }
  return { ...base, test: null };
}

const NOTHING: CallSubjects = { subjects: [], whole: null, problem: null };

/** Extracts what a call acts on; pure and lexical (no file system access, symlinks are not followed). */
export function callSubjects(toolName: string, input: Record<string, unknown>, workDir: string): CallSubjects {
  if (toolName === COMMAND_TOOL) return commandSubjects(input.command);
  if (toolName === DOMAIN_TOOL) {
    const host = typeof input.url === "string" ? hostOf(input.url) : null;
    return host
      ? { subjects: [{ kind: "host", label: host }], whole: null, problem: null }
      : { subjects: [], whole: null, problem: "the url is not an http(s) URL" };
  }
  const fields = FILE_TOOLS[toolName];
  return fields ? pathSubjects(toolName, fields, input, posix.resolve(workDir)) : NOTHING;
}

function commandSubjects(command: unknown): CallSubjects {
  if (typeof command !== "string") return { subjects: [], whole: null, problem: "the input has no command" };
  const { parts, problem } = analyseCommand(command);
  const subjects: Subject[] = parts.map((p) => ({ kind: "command", label: p.allowForms[0] ?? "", ...p }));
  return { subjects, whole: normalizeSpace(command), problem };
}

const SEARCH_TOOLS = new Set(["Glob", "Grep", "LS"]);

function pathSubjects(
  toolName: string,
  fields: readonly string[],
  input: Record<string, unknown>,
  workDir: string,
): CallSubjects {
  const subjects: Subject[] = [];
  let problem: string | null = null;
  for (const field of fields) {
    const value = input[field];
    if (value === undefined && SEARCH_TOOLS.has(toolName)) subjects.push(pathSubject(workDir, workDir));
    else if (typeof value === "string" && value.trim() !== "") {
      // Claude Code trims a path before it reads it (` /etc/passwd` is /etc/passwd).
      const path = value.trim();
      subjects.push(pathSubject(posix.resolve(workDir, path), workDir));
      // `~` and file: are read differently by different tools (Claude Code expands only `~/`):
      // deny rules see both readings, and such a call is never allowed.
      if (/^(~|file:)/i.test(path)) {
        problem ??= `${field} starts with ~ or file:, which the policy cannot resolve`;
        subjects.push(pathSubject(posix.resolve(workDir, expandPath(path)), workDir));
      }
    } else problem ??= `the input has no ${field}`;
  }
  if (toolName === "Glob" && typeof input.pattern === "string") {
    // The pattern's literal prefix can leave the directory (`../../etc/*`, `/etc/**`); check it as a path too.
    const dir = subjects[0]?.kind === "path" ? subjects[0].absolute : workDir;
    const { base, glob } = picomatch.scan(input.pattern);
    if (base) subjects.push(pathSubject(posix.resolve(dir, base), workDir));
    if (glob.split("/").includes("..")) problem ??= "the Glob pattern climbs with .. after a wildcard";
    // Braces, groups or classes can spell a path the literal prefix does not show: `{/etc,/x}/…`
    // is absolute, `@(..)/…` and `[.][.]/…` climb.
    if (GLOB_ESCAPES.test(glob)) problem ??= "the Glob pattern's braces, groups or classes could leave its directory";
  }
  return { subjects, whole: null, problem };
}

/** A brace holding a slash or `..` or touching a dot (`..{,}`), a group holding `..`, a class matching a dot. */
const GLOB_ESCAPES =
  /\{[^}]*(?:\/|\.\.)[^}]*\}|[@!?*+]\([^)]*\.\.[^)]*\)|\[[^\]]*\.[^\]]*\]|\.\{(?:[^}]*,)?[.,}]|\.(?:,[^}]*)?\}\./;

/** `~/x` under the server's home, `~user/x` under that user's (a best guess), a file: URL as its path. */
function expandPath(value: string): string {
  if (value === "~" || value.startsWith("~/")) return posix.join(homedir(), value.slice(1));
  const user = /^~([a-z_][a-z0-9_-]*)(\/.*)?$/i.exec(value);
  if (user)
    return posix.join(
      user[1] === "root" ? "/root" : posix.join(posix.dirname(homedir()), user[1] ?? ""),
      user[2] ?? "",
    );
  if (/^file:/i.test(value)) {
    try {
      return fileURLToPath(value);
    } catch {
      return value;
    }
  }
  return value;
}

function pathSubject(absolute: string, workDir: string): Subject {
  const rel = posix.relative(workDir, absolute);
  const inside = rel !== ".." && !rel.startsWith("../") && !posix.isAbsolute(rel);
  return { kind: "path", label: absolute, absolute, relative: inside ? rel || "." : null };
}
