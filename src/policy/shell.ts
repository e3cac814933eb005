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

interface RawPart {
  text: string;
  words: string[];
}

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

interface Heredoc {
  delimiter: string;
  stripTabs: boolean;
  expands: boolean;
}

/** Where a run of plain characters ends: at any character one of the scanner's cases looks at. */
const PLAIN_RUN_END = /[\s#\\'"$<>`()&|;]/g;

/** Bash itself gives up long before this many nested substitutions or subshells. */
const MAX_NESTING = 100;

/** One pass over the source; substitutions and subshells recurse into scanUntil with their closer. */
class Scanner {
  private problem: string | null = null;
  private level = 0;

  constructor(
    private readonly src: string,
    private readonly parts: RawPart[],
  ) {}

  scanAll(): string | null {
    const end = this.scanUntil(0, null);
    if (!this.problem && end < this.src.length) this.problem = "unbalanced )";
    return this.problem;
  }

  private fail(message: string): number {
    this.problem ??= message;
    return this.src.length;
  }

  /** Scans commands from i until `close` (")" or "`") at this level; returns the index after it. */
  private scanUntil(start: number, close: ")" | "`" | null): number {
    // Each nesting is a call deeper; past any real command's depth, stop instead of overflowing.
    if (this.level >= MAX_NESTING) return this.fail("substitutions are nested too deeply to follow");
    this.level++;
    try {
      return this.scanLevel(start, close);
    } finally {
      this.level--;
    }
  }

  private scanLevel(start: number, close: ")" | "`" | null): number {
    const s = this.src;
    // Source slices, joined at the part's end: reading the last character of one growing string
    // flattened it every time, quadratic in the command's length (256 KiB took 13 s).
    let text: string[] = [];
    const addText = (t: string) => {
      if (t !== "") text.push(t);
    };
    let words: string[] = [];
    let word: string | null = null;
    const heredocs: Heredoc[] = [];
    const endWord = () => {
      if (word !== null) words.push(word);
      word = null;
    };
    const endPart = () => {
      endWord();
      if (words.length > 0) this.parts.push({ text: normalizeSpace(text.join("")), words });
      text = [];
      words = [];
    };
    let i = start;
    while (i < s.length) {
      if (this.problem) return s.length;
      const c = s[i] as string;
      const next = s[i + 1];
      if (c === close) {
        endPart();
        return i + 1;
      }
      if (c === "\n") {
        endPart();
        i = this.skipHeredocs(i + 1, heredocs.splice(0));
        continue;
      }
      if (c === " " || c === "\t" || c === "\r") {
        endWord();
        addText(c);
        i++;
        continue;
      }
      if (c === "#" && word === null) {
        while (i < s.length && s[i] !== "\n") i++;
        continue;
      }
      if (c === "\\") {
        if (next === "\n") i += 2;
        else {
          word = (word ?? "") + (next ?? "");
          addText(s.slice(i, i + 2));
          i += 2;
        }
        continue;
      }
      if (c === "'") {
        const end = s.indexOf("'", i + 1);
        if (end === -1) return this.fail("unterminated single quote");
        word = (word ?? "") + s.slice(i + 1, end);
        addText(s.slice(i, end + 1));
        i = end + 1;
        continue;
      }
      if (c === '"') {
        const [value, end] = this.doubleQuoted(i + 1);
        word = (word ?? "") + value;
        addText(s.slice(i, end));
        i = end;
        continue;
      }
      if ((c === "$" || c === "<" || c === ">") && next === "(") {
        const end = this.scanUntil(i + 2, ")");
        word = (word ?? "") + s.slice(i, end);
        addText(s.slice(i, end));
        i = end;
        continue;
      }
      if (c === "`") {
        const end = this.scanUntil(i + 1, "`");
        word = (word ?? "") + s.slice(i, end);
        addText(s.slice(i, end));
        i = end;
        continue;
      }
      if (c === "(") {
        endPart();
        i = this.scanUntil(i + 1, ")");
        continue;
      }
      if (c === ")") return this.fail("unbalanced )");
      if (c === "<" && next === "<" && s[i + 2] === "<") {
        word = `${word ?? ""}<<<`; // a here-string: its word is data
        addText("<<<");
        i += 3;
        continue;
      }
      if (c === "<" && next === "<") {
        const [doc, end] = this.heredocHeader(i + 2);
        if (!doc) return this.fail("a here-document without a delimiter");
        heredocs.push(doc);
        endWord();
        addText(s.slice(i, end));
        i = end;
        continue;
      }
      const prev = text.at(-1)?.at(-1);
      const redirect = prev === ">" || prev === "<" || (c === "&" && next === ">");
      if (c === ";" || ((c === "&" || c === "|") && !redirect)) {
        endPart();
        i +=
          (c === "&" && next === "&") || (c === "|" && (next === "|" || next === "&")) || (c === ";" && next === ";")
            ? 2
            : 1;
        continue;
      }
      // A plain character, and the plain ones after it, at once.
      PLAIN_RUN_END.lastIndex = i + 1;
      const end = PLAIN_RUN_END.exec(s)?.index ?? s.length;
      const run = s.slice(i, end);
      word = (word ?? "") + run;
      addText(run);
      i = end;
    }
    if (close) return this.fail(close === ")" ? "unterminated ( or $(" : "unterminated backtick");
    if (heredocs.length > 0) return this.fail("unterminated here-document");
    endPart();
    return i;
  }

  /** The value of a double-quoted string starting at i (after the quote) and the index after its end. */
  private doubleQuoted(start: number): [string, number] {
    const s = this.src;
    let value = "";
    let i = start;
    while (i < s.length) {
      const c = s[i] as string;
      if (c === '"') return [value, i + 1];
      if (c === "\\" && i + 1 < s.length) {
        const n = s[i + 1] as string;
        value += '$`"\\\n'.includes(n) ? (n === "\n" ? "" : n) : c + n;
        i += 2;
      } else if (c === "$" && s[i + 1] === "(") {
        const end = this.scanUntil(i + 2, ")");
        value += s.slice(i, end);
        i = end;
      } else if (c === "`") {
        const end = this.scanUntil(i + 1, "`");
        value += s.slice(i, end);
        i = end;
      } else {
        value += c;
        i++;
      }
    }
    this.fail("unterminated double quote");
    return [value, s.length];
  }

  private heredocHeader(start: number): [Heredoc | null, number] {
    const s = this.src;
    let i = start;
    const stripTabs = s[i] === "-";
    if (stripTabs) i++;
    while (s[i] === " " || s[i] === "\t") i++;
    const m = /^(?:'([^'\n]*)'|"([^"\n]*)"|\\?([^\s;&|<>()'"]+))/.exec(s.slice(i));
    if (!m) return [null, i];
    const delimiter = m[1] ?? m[2] ?? m[3] ?? "";
    const expands = m[1] === undefined && m[2] === undefined && !m[0].startsWith("\\");
    return [{ delimiter, stripTabs, expands }, i + m[0].length];
  }

  /** Skips here-document bodies after a newline; substitutions in unquoted ones still count as commands. */
  private skipHeredocs(start: number, docs: Heredoc[]): number {
    const s = this.src;
    let i = start;
    for (const doc of docs) {
      for (;;) {
        if (i >= s.length) return this.fail("unterminated here-document");
        let end = s.indexOf("\n", i);
        if (end === -1) end = s.length;
        const line = s.slice(i, end);
        if ((doc.stripTabs ? line.replace(/^\t+/, "") : line) === doc.delimiter) {
          i = Math.min(end + 1, s.length);
          break;
        }
        if (doc.expands) this.substitutionsIn(i, end);
        i = end + 1;
      }
    }
    return i;
  }

  private substitutionsIn(start: number, end: number): void {
    const s = this.src;
    for (let i = start; i < end; i++) {
      if (s[i] === "\\") i++;
      else if (s[i] === "$" && s[i + 1] === "(") i = this.scanUntil(i + 2, ")") - 1;
      else if (s[i] === "`") i = this.scanUntil(i + 1, "`") - 1;
    }
  }
}
