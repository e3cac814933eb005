// Splits a Bash command into the simple commands it runs, so a rule cannot be bypassed by chaining or nesting.
//
// Not a full shell parser: it knows quotes, escapes, comments, the control operators (`;` `&` `&&`
// `|` `||` `|&` newline), subshells `( )`, command and process substitution (`$( )`, backticks,
// `<( )`, `>( )`), here-documents, and the programs that run another command (`bash -c`, `eval`,
// `sudo`, `env`, `xargs`, `find -exec` ...). Anything it cannot follow is reported as a problem and
// the caller treats the command conservatively (never allowed by a command rule, asked at least).
// Hand-written rather than shell-quote (which expands variables and ignores backticks and `$( )`
// nesting) or a WASM/GopherJS bash parser (asynchronous or megabytes): a policy decision must be
// synchronous and well under a millisecond, and we need the original text of each part.
import { posix } from "node:path";
import { normalizeSpace } from "./glob";
import { type RawPart, Scanner } from "./shell-scan";

export interface CommandPart {
  /** Forms an allow rule may match: as written, and with quotes and shell keywords removed. */
  allowForms: string[];
  /** Forms a deny or ask rule may match: the allow forms plus the command behind wrappers and assignments. */
  denyForms: string[];
}

export interface AnalysedCommand {
  parts: CommandPart[];
  /** Why the command could not be followed safely, or null. */
  problem: string | null;
}

const MAX_DEPTH = 8;
const MAX_PARTS = 500;
const MAX_WRAPPERS = 32;

const KEYWORDS = new Set(["!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "time"]);
// Programs that run the command in their arguments; deny rules look past them (and their options).
const WRAPPERS = new Set([
  ...["sudo", "doas", "env", "command", "builtin", "exec", "nohup", "nice", "timeout", "stdbuf"],
  ...["xargs", "watch", "flock", "chroot", "unbuffer", "strace", "ltrace", "busybox"],
]);
const ONE_ARGUMENT_FIRST = new Set(["timeout", "flock", "chroot"]);
/** Options that take the next word as their value, so that word is not the program. */
const OPTIONS_WITH_VALUE: Record<string, Set<string>> = {
  sudo: new Set(["-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-R"]),
  doas: new Set(["-u", "-C"]),
  nice: new Set(["-n", "--adjustment"]),
  timeout: new Set(["-s", "-k", "--signal", "--kill-after"]),
  xargs: new Set(["-I", "-n", "-P", "-L", "-s", "-d", "-E", "-a", "--max-args", "--max-procs", "--max-lines"]),
  // Not -S: its string is the start of the command, which runs with the words after it.
  env: new Set(["-u", "-C", "--unset", "--chdir"]),
  stdbuf: new Set(["-i", "-o", "-e"]),
  watch: new Set(["-n", "-d", "--interval"]),
  flock: new Set(["-w", "-E", "--timeout", "--wait", "--conflict-exit-code"]),
  strace: new Set(["-o", "-e", "-p", "-s", "-u", "-E", "-P", "-a", "-b", "-I", "-X", "-O", "-S"]),
  ltrace: new Set(["-o", "-e", "-p", "-s", "-u", "-n", "-a", "-A", "-D", "-F", "-x"]),
  exec: new Set(["-a"]),
};
for (const [name, opts] of [
  ["sudo", ["--user", "--group", "--host", "--prompt", "--chdir", "--role", "--type", "--other-user"]],
  ["xargs", ["--max-chars", "--delimiter", "--eof", "--arg-file"]],
] as const)
  for (const o of opts) OPTIONS_WITH_VALUE[name]?.add(o);
const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "ash"]);
/** Shell options whose value is the next word. */
const SHELL_OPTION_WITH_VALUE = /^([-+][oO]|--rcfile|--init-file|--emulate)$/;
/** `source FILE` and `. FILE` run FILE's commands in the current shell. */
const SOURCING = new Set(["source", "."]);
/** Script arguments that are the shell's own input, or a stream nobody can read ahead. */
const INPUT_SCRIPT = /^(-|\/dev\/stdin|\/dev\/fd\/\d+|\/proc\/[^/]+\/fd\/\d+|[<>]\(.*)$/s;
/** A word that is only a redirection operator: its target is the next word. */
const BARE_REDIRECTION = /^\d*(?:<<<|<>|<&|>&|>>|>\||&>>|&>|<|>)$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;

/** Analyses a Bash command line into its simple commands. */
export function analyseCommand(command: string): AnalysedCommand {
  const out: CommandPart[] = [];
  const problem = analyseInto(command, out, 0);
  return { parts: out, problem };
}

function analyseInto(src: string, out: CommandPart[], depth: number): string | null {
  if (depth > MAX_DEPTH) return "commands are nested too deeply to follow";
  const raw: RawPart[] = [];
  let problem = new Scanner(src, raw).scanAll();
  // Keep going after a problem: every part found still counts for deny and ask rules.
  for (const p of raw) {
    const partProblem = addPart(p, out, depth); // not `problem ??= addPart()`: that would skip the part
    problem ??= partProblem;
    if (out.length > MAX_PARTS) return `more than ${MAX_PARTS} commands in one call`;
  }
  return problem;
}

function addPart(p: RawPart, out: CommandPart[], depth: number): string | null {
  if (depth > MAX_DEPTH) return "commands are nested too deeply to follow";
  if (out.length > MAX_PARTS) return `more than ${MAX_PARTS} commands in one call`;
  const keywordless = dropKeywords(p.words);
  const running = dropKeywords(withoutRedirections(p.words, p.redirects));
  if (keywordless.length === 0) return null; // `fi`, `done`, `}`: syntax, nothing runs
  const plain = normalizeSpace(p.words.join(" "));
  const allowForms = unique([p.text, plain, normalizeSpace(keywordless.join(" "))]);
  const denyForms = [...allowForms];
  // Deny rules and nested commands look at the words that run: redirections and their targets go.
  let words = running;
  if (words.length === 0) {
    // Only redirections (`> file` empties it): still a part, which an allow rule must cover.
    out.push({ allowForms, denyForms });
    return null;
  }
  denyForms.push(normalizeSpace(words.join(" ")));
  // What the wrappers on the way run of their own: `env -S STRING`, `xargs -I` (from its input).
  let split: string | undefined;
  let built = false;
  let steps = 0;
  for (;;) {
    const next = stripOnce(words);
    if (!next) break;
    // Each step copies the rest of the line: a chain of wrappers past any real one is refused
    // (a 100 kB `env -S env -S …` ran out of memory).
    if (++steps > MAX_WRAPPERS) {
      out.push({ allowForms, denyForms: unique(denyForms) });
      return `more than ${MAX_WRAPPERS} wrappers in one command`;
    }
    const name = basename(words[0] ?? "");
    const options = words.slice(1, words.length - next.length);
    if (name === "env") split ??= splitString(options, next);
    if (name === "xargs") built ||= options.some((w) => /^-[^-]*[Ii]/.test(w) || w.startsWith("--replace"));
    words = next;
    if (words.length === 0) break;
    denyForms.push(normalizeSpace(words.join(" ")));
  }
  const program = words[0] ?? "";
  // `/bin/rm -rf x` runs rm: deny and ask rules see the bare program name too.
  if (program.includes("/")) denyForms.push(normalizeSpace([basename(program), ...words.slice(1)].join(" ")));
  out.push({ allowForms, denyForms: unique(denyForms) });
  const splitProblem = split === undefined ? null : analyseInto(split, out, depth + 1);
  // Nested commands count for deny rules even when the line is a problem anyway.
  const nested = splitProblem ?? nestedCommands(words, out, depth);
  if (/[$`]/.test(program)) return "the program name comes from a variable or substitution";
  if (built) return "xargs builds the command from its input, which cannot be followed";
  return nested;
}

/**
 * The words without redirections (the scanner marks them: only unquoted operators count, so a
 * quoted `'>x; rm …'` stays a word). An operator alone takes the next word, its target, with it.
 */
function withoutRedirections(words: string[], redirects: readonly number[]): string[] {
  if (redirects.length === 0) return words;
  const marked = new Set(redirects);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (!marked.has(i)) out.push(w);
    else if (BARE_REDIRECTION.test(w)) i++;
  }
  return out;
}

/**
 * The command line `env -S STRING ARGS…` runs: STRING split into words, then the words after it.
 * `options` are env's options as stripOnce took them, `rest` what follows.
 */
function splitString(options: string[], rest: string[]): string | undefined {
  const all = [...options, ...rest];
  for (let i = 0; i < options.length; i++) {
    const w = options[i] as string;
    let value: string | undefined;
    let after = i + 1;
    if (w === "-S" || w === "--split-string") {
      value = all[i + 1] ?? "";
      after = i + 2;
    } else if (w.startsWith("--split-string=")) value = w.slice("--split-string=".length);
    else if (/^-[^-S]*S./.test(w)) value = w.slice(w.indexOf("S") + 1);
    if (value !== undefined) return [value, ...all.slice(after).map(quoteWord)].join(" ");
  }
  return undefined;
}

const quoteWord = (w: string) => `'${w.replaceAll("'", "'\\''")}'`;

/** Runs the commands that a program executes from its arguments through the same analysis. */
function nestedCommands(words: string[], out: CommandPart[], depth: number): string | null {
  const program = basename(words[0] ?? "");
  if (program === "eval") return analyseInto(words.slice(1).join(" "), out, depth + 1);
  if (SHELLS.has(program) || SOURCING.has(program)) {
    const { command, script, stdin } = shellArguments(words);
    if (command !== undefined)
      return command === null ? "a shell -c without a command" : analyseInto(command, out, depth + 1);
    // No script, `-s`, or a script that is the input (`/dev/./stdin` too) or a variable.
    if (script === undefined || stdin || INPUT_SCRIPT.test(posix.normalize(script)) || /[$`]/.test(script))
      return "a shell reading commands from its input cannot be followed";
    return null;
  }
  if (program === "find") {
    // Each -exec runs up to its `;` or `+`; the next one starts after that (never inside it, which
    // made `find -exec find -exec …` exponential).
    for (let i = 1; i < words.length; i++) {
      if (!/^-(exec|execdir|ok|okdir)$/.test(words[i] ?? "")) continue;
      const end = words.findIndex((w, j) => j > i && (w === ";" || w === "+"));
      const inner = words.slice(i + 1, end === -1 ? undefined : end);
      const p = addPart({ text: normalizeSpace(inner.join(" ")), words: inner, redirects: [] }, out, depth + 1);
      if (p) return p;
      if (end === -1) break;
      i = end;
    }
  }
  return null;
}

/**
 * A shell's options and what it runs: with `-c` (alone or among other flags, `-ec`, `-Ec`) the first
 * argument after the options is the command line; without, the script (none: it reads its input).
 */
function shellArguments(words: string[]): { command?: string | null; script?: string; stdin?: boolean } {
  let i = 1;
  let c = false;
  let stdin = false;
  for (; i < words.length; i++) {
    const w = words[i] as string;
    if (w === "--") {
      i++;
      break;
    }
    // -o pipefail, --rcfile F, zsh --emulate sh: the next word is the option's.
    if (SHELL_OPTION_WITH_VALUE.test(w)) i++;
    else if (/^--command(=|$)/.test(w))
      return { command: w.includes("=") ? w.slice(w.indexOf("=") + 1) : (words[i + 1] ?? null) };
    else if (/^[-+][A-Za-z]+$/.test(w)) {
      // Flags combine: -ec, -co pipefail (each o or O takes one value word), -s (read from input).
      if (w.startsWith("-") && w.includes("c")) c = true;
      if (w.startsWith("-") && w.includes("s")) stdin = true;
      i += (w.slice(1).match(/[oO]/g) ?? []).length;
    } else if (!/^--[a-z][a-z-]*(=.*)?$/.test(w)) break;
  }
  if (c) return { command: words[i] ?? null };
  // A -c after the script is the script's argument to bash, but it is read as a command all the
  // same: one part too many is asked about, one missed would run.
  const late = words.findIndex((w, j) => j > i && /^-[A-Za-z]*c[A-Za-z]*$/.test(w));
  if (late !== -1) return { command: words[late + 1] ?? null };
  return { script: words[i], stdin };
}

function dropKeywords(words: string[]): string[] {
  let i = 0;
  while (i < words.length && KEYWORDS.has(words[i] as string)) i++;
  return words.slice(i);
}

/** One step towards the program that really runs: drops an assignment, a keyword or a wrapper and its options. */
function stripOnce(words: string[]): string[] | null {
  const first = words[0];
  if (first === undefined) return null;
  if (ASSIGNMENT.test(first) || KEYWORDS.has(first)) return words.slice(1);
  const name = basename(first);
  if (!WRAPPERS.has(name)) return null;
  const withValue = OPTIONS_WITH_VALUE[name];
  let i = 1;
  while (i < words.length) {
    const w = words[i] as string;
    if (w === "--") {
      i++;
      break;
    }
    if (name === "env" && ASSIGNMENT.test(w)) i++;
    else if (w.startsWith("-")) i += withValue?.has(w) ? 2 : 1;
    else break;
  }
  if (ONE_ARGUMENT_FIRST.has(name) && i < words.length) i++; // the duration, lock file or new root
  // `flock FILE -c CMD` runs CMD through a shell.
  const rest = words.slice(i);
  if (name === "flock" && (rest[0] === "-c" || rest[0] === "--command")) return ["sh", "-c", ...rest.slice(1)];
  return rest;
}

const basename = (w: string) => w.slice(w.lastIndexOf("/") + 1);
const unique = (xs: string[]) => [...new Set(xs.filter((x) => x !== ""))];
