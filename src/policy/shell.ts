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

const KEYWORDS = new Set(["!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "time"]);
// Programs that run the command in their arguments; deny rules look past them (and their options).
const WRAPPERS = new Set([
  ...["sudo", "doas", "env", "command", "builtin", "exec", "nohup", "nice", "timeout", "stdbuf"],
  ...["xargs", "watch", "flock", "chroot", "unbuffer", "strace", "ltrace"],
]);
const ONE_ARGUMENT_FIRST = new Set(["timeout", "flock", "chroot"]);
const OPTIONS_WITH_VALUE: Record<string, Set<string>> = {
  sudo: new Set(["-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U"]),
  nice: new Set(["-n"]),
  timeout: new Set(["-s", "-k", "--signal", "--kill-after"]),
  xargs: new Set(["-I", "-n", "-P", "-L", "-s", "-d", "-E", "-a"]),
  env: new Set(["-u", "-C", "-S"]),
  stdbuf: new Set(["-i", "-o", "-e"]),
  watch: new Set(["-n", "-d"]),
};
const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "busybox"]);
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
  const keywordless = dropKeywords(p.words);
  if (keywordless.length === 0) return null; // `fi`, `done`, `}`: syntax, nothing runs
  const plain = normalizeSpace(p.words.join(" "));
  const allowForms = unique([p.text, plain, normalizeSpace(keywordless.join(" "))]);
  const denyForms = [...allowForms];
  let words = keywordless;
  for (;;) {
    const next = stripOnce(words);
    if (!next) break;
    words = next;
    if (words.length === 0) break;
    denyForms.push(normalizeSpace(words.join(" ")));
  }
  const program = words[0] ?? "";
  // `/bin/rm -rf x` runs rm: deny and ask rules see the bare program name too.
  if (program.includes("/")) denyForms.push(normalizeSpace([basename(program), ...words.slice(1)].join(" ")));
  out.push({ allowForms, denyForms: unique(denyForms) });
  if (/[$`]/.test(program)) return "the program name comes from a variable or substitution";
  return nestedCommands(words, out, depth);
}

/** Runs the commands that a program executes from its arguments through the same analysis. */
function nestedCommands(words: string[], out: CommandPart[], depth: number): string | null {
  const program = basename(words[0] ?? "");
  if (program === "eval") return analyseInto(words.slice(1).join(" "), out, depth + 1);
  if (SHELLS.has(program)) {
    const c = words.findIndex((w, i) => i > 0 && /^-[a-z]*c[a-z]*$/.test(w));
    if (c > 0) {
      const script = words[c + 1];
      return script === undefined ? "a shell -c without a command" : analyseInto(script, out, depth + 1);
    }
    if (words.length === 1 || words.slice(1).every((w) => w.startsWith("-"))) {
      return "a shell reading commands from its input cannot be followed";
    }
    return null;
  }
  if (program === "find") {
    for (let i = 1; i < words.length; i++) {
      if (!/^-(exec|execdir|ok|okdir)$/.test(words[i] ?? "")) continue;
      const end = words.findIndex((w, j) => j > i && (w === ";" || w === "+"));
      const inner = words.slice(i + 1, end === -1 ? undefined : end);
      const p = addPart({ text: normalizeSpace(inner.join(" ")), words: inner }, out, depth + 1);
      if (p) return p;
    }
  }
  return null;
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
  return words.slice(i);
}

const basename = (w: string) => w.slice(w.lastIndexOf("/") + 1);
const unique = (xs: string[]) => [...new Set(xs.filter((x) => x !== ""))];
