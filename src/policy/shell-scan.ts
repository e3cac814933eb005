// The scanner behind shell.ts: one pass over a Bash command line that finds its simple commands
// (their source text and words), following quotes, escapes, comments, control operators,
// subshells, substitutions and here-documents. Anything it cannot follow is a problem.
import { normalizeSpace } from "./glob";

export interface RawPart {
  text: string;
  words: string[];
  /** Indices of the words that are (or begin with) an unquoted redirection operator. */
  redirects: number[];
}

interface Heredoc {
  delimiter: string;
  stripTabs: boolean;
  expands: boolean;
}

/** Where a run of plain characters ends: at any character one of the scanner's cases looks at. */
const PLAIN_RUN_END = /[ \t\n#\\'"$<>`()&|;]/g;

/** Bash itself gives up long before this many nested substitutions or subshells. */
const MAX_NESTING = 100;

/** One pass over the source; substitutions and subshells recurse into scanUntil with their closer. */
export class Scanner {
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
    // Whether the last thing read was an unescaped `<` or `>`: then `&` or `|` belong to a
    // redirection (`2>&1`, `>|`), not a control operator. An escaped `\>` is a plain character.
    let afterRedirect = false;
    const addText = (t: string) => {
      if (t !== "") text.push(t);
      afterRedirect = false;
    };
    let words: string[] = [];
    let redirects: number[] = [];
    let word: string | null = null;
    // Whether the word being read began with an unquoted redirection operator (`>f`, `2>&1`, `<<<`).
    let wordRedirects = false;
    // Whether any of the word so far was quoted or escaped: `"5">f` is the word 5, then a redirection.
    let wordQuoted = false;
    /** Whether a `<` or `>` here begins a redirection word: the word so far is only an fd number. */
    const fdSoFar = () => word === null || (!wordQuoted && /^\d*&?$/.test(word));
    const heredocs: Heredoc[] = [];
    const endWord = () => {
      if (word !== null) {
        words.push(word);
        if (wordRedirects) redirects.push(words.length - 1);
      }
      word = null;
      wordRedirects = false;
      wordQuoted = false;
    };
    const endPart = () => {
      endWord();
      if (words.length > 0) this.parts.push({ text: normalizeSpace(text.join("")), words, redirects });
      text = [];
      words = [];
      redirects = [];
      afterRedirect = false;
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
      // Only space and tab split words; to bash a carriage return is part of one.
      if (c === " " || c === "\t") {
        endWord();
        addText(c);
        i++;
        continue;
      }
      if (c === "#" && word === null) {
        // Inside backticks the closing backtick ends the comment too (bash reads to it first).
        while (i < s.length && s[i] !== "\n" && !(close === "`" && s[i] === "`")) i++;
        afterRedirect = false;
        continue;
      }
      if (c === "\\") {
        if (next === "\n") i += 2;
        else {
          word = (word ?? "") + (next ?? "");
          wordQuoted = true;
          addText(s.slice(i, i + 2));
          i += 2;
        }
        continue;
      }
      if (c === "$" && next === "'") {
        // ANSI-C quoting: a backslash escapes the next character, `\'` included. Kept as written,
        // so a program named this way reads as one from a substitution (never matched as a name).
        const end = ansiCEnd(s, i + 2);
        if (end === -1) return this.fail("unterminated $'...' quote");
        word = (word ?? "") + s.slice(i, end);
        wordQuoted = true;
        addText(s.slice(i, end));
        i = end;
        continue;
      }
      if (c === "'") {
        const end = s.indexOf("'", i + 1);
        if (end === -1) return this.fail("unterminated single quote");
        word = (word ?? "") + s.slice(i + 1, end);
        wordQuoted = true;
        addText(s.slice(i, end + 1));
        i = end + 1;
        continue;
      }
      if (c === '"') {
        const [value, end] = this.doubleQuoted(i + 1);
        word = (word ?? "") + value;
        wordQuoted = true;
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
        if (!fdSoFar()) endWord(); // `cat<<<x`: the word ends where the operator begins
        wordRedirects = true;
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
      const redirect = afterRedirect || (c === "&" && next === ">");
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
      if ((c === "<" || c === ">") && !afterRedirect) {
        // An unquoted < or > ends the word before it (`rm>/dev/null` runs rm), unless that word is
        // only the redirection's fd number (`2>`); what follows is a redirection word.
        if (!fdSoFar()) endWord();
        wordRedirects = true;
      }
      word = (word ?? "") + run;
      addText(run);
      afterRedirect = run.endsWith(">") || run.endsWith("<");
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
    // The delimiter is a whole word with its quotes removed (`:"x"` is `:x`, `tru\e` is `true`);
    // any quoting in it keeps the body from expanding.
    let delimiter = "";
    let quoted = false;
    while (i < s.length && !/[\s;&|<>()]/.test(s[i] as string)) {
      const c = s[i] as string;
      if (c === "'" || c === '"') {
        const end = s.indexOf(c, i + 1);
        if (end === -1 || s.slice(i + 1, end).includes("\n")) return [null, i];
        delimiter += c === '"' ? s.slice(i + 1, end).replace(/\\([$`"\\])/g, "$1") : s.slice(i + 1, end);
        quoted = true;
        i = end + 1;
      } else if (c === "\\" && i + 1 < s.length) {
        delimiter += s[i + 1];
        quoted = true;
        i += 2;
      } else {
        delimiter += c;
        i++;
      }
    }
    if (delimiter === "") return [null, i];
    return [{ delimiter, stripTabs, expands: !quoted }, i];
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

/** The index after an ANSI-C quoted string's closing quote (`start` is after `$'`), or -1. */
function ansiCEnd(s: string, start: number): number {
  for (let j = start; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === "'") return j + 1;
  }
  return -1;
}
