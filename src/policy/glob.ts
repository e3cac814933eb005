// Pattern primitives for rules: checking them (a message naming the fault) and compiling them to matchers.
// Command globs and regexes come from API callers and run on whatever Claude Code executes, so they
// match with RE2 (re2js): time linear in the command's length whatever the pattern, where a JS
// RegExp can backtrack for minutes (`^(a|a)*$`, `*a*a*a*a*b`) and hold the whole server.
import picomatch from "picomatch";
import { RE2JS } from "re2js";

export type Matcher = (subject: string) => boolean;

export const MAX_REGEX_LENGTH = 500;
const MAX_GLOB_LENGTH = 1000;
const GLOB_CHARS = /[*?[\]{}()!+@]/;

const tryCompile = (fn: () => unknown): string | null => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
};

// ---- tools --------------------------------------------------------------------------------

export function checkToolGlob(tool: string): string | null {
  if (/\s/.test(tool)) return "tool names have no spaces; give one tool name or glob per rule";
  const problem = tryCompile(() => picomatch.makeRe(tool));
  return problem ? `invalid glob: ${problem}` : null;
}

export function compileToolMatcher(tool: string): Matcher {
  if (!GLOB_CHARS.test(tool)) return (name) => name === tool;
  return picomatch(tool, { dot: true });
}

/** Whether a tool glob can match at least one of the given tool names. */
export function toolAccepts(tool: string, names: readonly string[]): boolean {
  if (checkToolGlob(tool)) return true; // the tool field reports its own problem
  const m = compileToolMatcher(tool);
  return names.some(m);
}

// ---- Bash commands ------------------------------------------------------------------------

/** Collapses runs of whitespace so `rm   -rf` and `rm -rf` read the same. */
export const normalizeSpace = (s: string): string => s.replace(/\s+/g, " ").trim();

export function checkCommandGlob(glob: string): string | null {
  if (glob.length > MAX_GLOB_LENGTH) return `the glob is longer than ${MAX_GLOB_LENGTH} characters`;
  return normalizeSpace(glob) === "" ? "the glob is blank" : null;
}

/** `*` is any text, `?` one character, `\x` a literal x; a trailing ` *` also matches the bare command. */
export function compileCommandGlob(glob: string): Matcher {
  const g = normalizeSpace(glob);
  let src = "";
  for (let i = 0; i < g.length; i++) {
    const c = g[i] as string;
    if (c === "\\" && i + 1 < g.length) src += escapeRegex(g[++i] as string);
    else if (c === " " && g.slice(i) === " *") {
      src += "(?: .*)?";
      break;
    } else if (c === "*") src += ".*";
    else if (c === "?") src += ".";
    else src += escapeRegex(c);
  }
  const re = RE2JS.compile(`^${src}$`, RE2JS.DOTALL);
  return (s) => re.testExact(s);
}

/** RE2 syntax: what JavaScript's RegExp takes, minus lookaround and backreferences. */
export function checkRegex(source: string): string | null {
  if (source === "") return "the regular expression is empty (it would match everything)";
  if (source.length > MAX_REGEX_LENGTH) return `regular expression is longer than ${MAX_REGEX_LENGTH} characters`;
  const problem = tryCompile(() => RE2JS.compile(source));
  if (problem) return `invalid regular expression: ${problem} (RE2 syntax: no lookaround or backreferences)`;
  return null;
}

export function compileRegex(source: string): Matcher {
  const re = RE2JS.compile(source);
  return (s) => re.test(s);
}

// ---- paths --------------------------------------------------------------------------------

export function checkPathGlob(glob: string): string | null {
  if (glob.startsWith("~")) return "~ is not expanded; give an absolute path or one relative to the workDir";
  if (glob.startsWith("!")) return "negated globs are not supported; write a separate rule with the other decision";
  // A backslash escapes a glob character (`app/\\(group)/page.tsx`); anywhere else it is a Windows habit.
  if (/\\(?![*?[\]{}()!+@\\])/.test(glob)) return "use forward slashes; backslashes are not path separators here";
  if (glob.split("/").includes(".."))
    return "`..` is not allowed; give an absolute path for places outside the workDir";
  const problem = tryCompile(() => picomatch.makeRe(glob));
  return problem ? `invalid glob: ${problem}` : null;
}

export interface PathMatcher {
  /** Absolute globs match absolute paths; relative ones match paths inside the workDir, relative to it. */
  absolute: boolean;
  match: Matcher;
}

export function compilePathGlob(glob: string): PathMatcher {
  let g = glob.replace(/^(\.\/)+/, "");
  if (g.endsWith("/")) g += "**"; // "src/" means everything under src
  const absolute = g.startsWith("/");
  const m = picomatch(g, { dot: true });
  // The workDir itself (a search with no path) is ".", which only a bare globstar covers.
  const everything = g === "**";
  return { absolute, match: (p) => (p === "." ? everything : m(p)) };
}

// ---- domains ------------------------------------------------------------------------------

const DOMAIN_SHAPE = /^(\*\.)?([a-z0-9?*_-]+\.)*[a-z0-9?*_-]+$/;

export function checkDomain(domain: string): string | null {
  const d = domain.toLowerCase();
  if (d.includes("/") || d.includes(":")) return "give only the host (example.com), not a URL, port or path";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
  if (/[^\x00-\x7f]/.test(d)) return "write internationalised names in punycode (xn--...)";
  if (d !== "*" && !DOMAIN_SHAPE.test(d)) return "not a host name or a host glob such as *.example.com";
  return null;
}

/** `*.example.com` matches any depth of subdomain (not example.com itself); other `*` stay within a label. */
export function compileDomain(domain: string): Matcher {
  const d = domain.toLowerCase();
  if (d === "*") return () => true;
  const sub = d.startsWith("*.");
  const rest = sub ? d.slice(2) : d;
  let src = "";
  for (const c of rest) src += c === "*" ? "[^.]*" : c === "?" ? "[^.]" : escapeRegex(c);
  const re = new RegExp(`^${sub ? "(?:[^.]+\\.)+" : ""}${src}$`);
  return (host) => re.test(host);
}

/** The URL's host, lowercased and without a trailing dot; null when it is not an http(s) URL. */
export function hostOf(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  return u.hostname.toLowerCase().replace(/\.$/, "") || null;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
