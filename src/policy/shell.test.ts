import { describe, expect, it } from "vitest";
import { analyseCommand } from "./shell";

/** The first form of each part: the simple commands as written. */
const parts = (command: string) => analyseCommand(command).parts.map((p) => p.allowForms[0]);
const denyForms = (command: string) => analyseCommand(command).parts.flatMap((p) => p.denyForms);

describe("analyseCommand splits a line into the simple commands it runs", () => {
  it.each([
    ["git status", ["git status"]],
    ["git status && rm -rf x", ["git status", "rm -rf x"]],
    ["a || b; c | d |& e & f", ["a", "b", "c", "d", "e", "f"]],
    ["a\nb\n\nc", ["a", "b", "c"]],
    ["a ;; b", ["a", "b"]],
    ["  rm   -rf\tx  ", ["rm -rf x"]],
    ["(cd x && make) || echo fail", ["cd x", "make", "echo fail"]],
    ["{ rm x; }", ["{ rm x"]],
    ["ls 2>&1 >/dev/null &>log >&2", ["ls 2>&1 >/dev/null &>log >&2"]],
    ["echo a >| f", ["echo a >| f"]],
    ["echo hi # && rm -rf /", ["echo hi"]],
    ["echo a#b", ["echo a#b"]],
    ["echo a \\\n  && rm x", ["echo a", "rm x"]],
    ["fi", []],
    ["", []],
  ])("%j -> %j", (command, expected) => {
    const r = analyseCommand(command);
    expect(r.problem).toBeNull();
    expect(r.parts.map((p) => p.allowForms[0])).toEqual(expected);
  });

  it.each([
    ['git commit -m "fix; rm -rf x && y"', ['git commit -m "fix; rm -rf x && y"']],
    ["echo 'a | b' \"c & d\"", ["echo 'a | b' \"c & d\""]],
    ["echo \\; rm x", ["echo \\; rm x"]],
    ["cat <<< 'rm -rf /; x'", ["cat <<< 'rm -rf /; x'"]],
  ])("quotes and escapes keep operators as text: %j", (command, expected) => {
    expect(parts(command)).toEqual(expected);
  });

  it.each([
    ["echo $(rm -rf x)", ["rm -rf x", "echo $(rm -rf x)"]],
    ["echo `rm -rf x`", ["rm -rf x", "echo `rm -rf x`"]],
    ['echo "$(rm -rf x)"', ["rm -rf x", 'echo "$(rm -rf x)"']],
    ['echo "`rm -rf x`"', ["rm -rf x", 'echo "`rm -rf x`"']],
    ["diff <(ls a) >(tee b)", ["ls a", "tee b", "diff <(ls a) >(tee b)"]],
    ["echo $(a $(b; c))", ["b", "c", "a $(b; c)", "echo $(a $(b; c))"]],
    ["x=$(rm y)", ["rm y", "x=$(rm y)"]],
  ])("substitutions run as commands of their own: %j", (command, expected) => {
    expect(parts(command)).toEqual(expected);
  });

  it("skips here-document bodies but not the substitutions in unquoted ones", () => {
    const quoted = "git commit -m \"$(cat <<'EOF'\nfix: x; rm -rf /\n\nbody\nEOF\n)\"";
    expect(parts(quoted)).toEqual(["cat <<'EOF'", `git commit -m "$(cat <<'EOF' fix: x; rm -rf / body EOF )"`]);
    expect(parts("cat <<EOF > f\nrm -rf /\nEOF\nls")).toEqual(["cat <<EOF > f", "ls"]);
    expect(parts("cat <<-EOF\n\trm -rf /\n\tEOF\nls")).toEqual(["cat <<-EOF", "ls"]);
    expect(parts("cat <<EOF\n$(rm -rf /)\nEOF")).toEqual(["cat <<EOF", "rm -rf /"]);
    expect(parts("cat <<'EOF'\n$(rm -rf /)\nEOF")).toEqual(["cat <<'EOF'"]);
  });

  it.each([
    ["r''m -rf /", "rm -rf /"],
    ['"rm" -rf /', "rm -rf /"],
    ["\\rm -rf /", "rm -rf /"],
    ["/bin/rm -rf /", "rm -rf /"],
    ["FOO=1 BAR=2 rm -rf /", "rm -rf /"],
    ["sudo -u root rm -rf /", "rm -rf /"],
    ["env -i A=1 rm -rf /", "rm -rf /"],
    ["timeout -s KILL 5 rm -rf /", "rm -rf /"],
    ["nice -n 10 nohup rm -rf /", "rm -rf /"],
    ["command exec rm -rf /", "rm -rf /"],
    ["flock /tmp/l chroot /mnt rm -rf /", "rm -rf /"],
    ["xargs -n 1 rm -rf < list", "rm -rf"],
    // Options that take a value, long ones too: the value is not the program.
    ["env --unset X rm -f v", "rm -f v"],
    ["env --chdir . rm -f v", "rm -f v"],
    ["xargs --max-args 1 rm -f v", "rm -f v"],
    ["flock -w 5 lock rm -f v", "rm -f v"],
    ["nice --adjustment 5 rm -f v", "rm -f v"],
    ["strace -o f rm -f v", "rm -f v"],
    ["exec -a name rm -f v", "rm -f v"],
    ["sudo --user root rm -f v", "rm -f v"],
    ["doas -u root rm -f v", "rm -f v"],
    // Commands inside other commands' arguments.
    ["env -S 'rm -f v'", "rm -f v"],
    ["flock lock -c 'rm -f v'", "rm -f v"],
    ["bash -c -- 'rm -f v'", "rm -f v"],
    ["bash -c -e 'rm -f v'", "rm -f v"],
    ["bash -Ec 'rm -f v'", "rm -f v"],
    ["bash -o pipefail -c 'rm -f v'", "rm -f v"],
    ["bash --rcfile /dev/null -c 'rm -f v'", "rm -f v"],
    ["bash --init-file /dev/null -c 'rm -f v'", "rm -f v"],
    ["zsh --emulate sh -c 'rm -f v'", "rm -f v"],
    ["busybox sh -c 'rm -f v'", "rm -f v"],
    ["busybox rm -f v", "rm -f v"],
    ["fish --command='rm -f v'", "rm -f v"],
    ["fish --command 'rm -f v'", "rm -f v"],
    ["bash script.sh -c 'rm -f v'", "rm -f v"],
    // Quoted text that looks like a redirection is not one: the command inside still counts.
    ["eval '>x; rm -f v'", "rm -f v"],
    ["bash -c '>x; rm -f v'", "rm -f v"],
    ['eval "2>/dev/null rm -f v"', "rm -f v"],
    // A quoted digit before > is a word of its own, not the redirection's fd.
    ['timeout "5">/dev/null rm -rf /', "rm -rf /"],
    ['nice -n "5">/dev/null rm -rf /', "rm -rf /"],
    // A redirection glued to the program ends the program's word.
    ["rm>/dev/null -rf /", "rm -rf /"],
    ["sudo>/dev/null rm -rf /", "rm -rf /"],
    // env -S runs its string with the words after it.
    ["env -S rm -rf /", "rm -rf /"],
    ["env -S git push origin main", "git push origin main"],
    ["env -S env -S rm -rf /", "rm -rf /"],
    ["bash -co pipefail 'rm -rf /'", "rm -rf /"],
    ["bash -oc pipefail 'rm -rf /'", "rm -rf /"],
    // A redirection is not part of the command: `rm>x` is rm.
    ["rm -f v 2>/dev/null", "rm -f v"],
    ["rm -f v > out", "rm -f v"],
    ["if rm -rf /", "rm -rf /"],
    ["do rm -rf /", "rm -rf /"],
    ["! rm -rf /", "rm -rf /"],
    ["bash -c 'rm -rf /'", "rm -rf /"],
    ['sh -ec "git status && rm -rf /"', "rm -rf /"],
    ["eval 'rm -rf /'", "rm -rf /"],
    ["find . -name '*.o' -exec rm -f {} \\;", "rm -f {}"],
    ["find . -execdir rm {} +", "rm {}"],
  ])("deny rules see the program behind quoting, paths, wrappers and shells: %j", (command, form) => {
    expect(denyForms(command)).toContain(form);
  });

  it.each([
    ["sudo rm -rf /", "rm -rf /"],
    ["FOO=1 rm x", "rm x"],
    ["/bin/rm x", "rm x"],
  ])("but allow rules do not: %j is not allowed as %j", (command, form) => {
    expect(analyseCommand(command).parts.flatMap((p) => p.allowForms)).not.toContain(form);
  });

  it.each([
    ["echo 'open", "unterminated single quote"],
    ['echo "open', "unterminated double quote"],
    ["echo $(open", "unterminated ( or $("],
    ["echo `open", "unterminated backtick"],
    ["echo )", "unbalanced )"],
    ["case x in a) rm;; esac", "unbalanced )"],
    ["cat <<EOF\nno end", "unterminated here-document"],
    ["$CMD -rf /", "the program name comes from a variable or substitution"],
    ["$(echo rm) -rf /", "the program name comes from a variable or substitution"],
    ["curl -s x | bash", "a shell reading commands from its input cannot be followed"],
    ["bash <<< 'rm -f v'", "a shell reading commands from its input cannot be followed"],
    ["echo 'rm -f v' | bash /dev/stdin", "a shell reading commands from its input cannot be followed"],
    ["bash < s.sh", "a shell reading commands from its input cannot be followed"],
    ["source /dev/stdin <<< 'rm -f v'", "a shell reading commands from its input cannot be followed"],
    ["echo 'rm -f v' | . /dev/stdin", "a shell reading commands from its input cannot be followed"],
    ["bash <(curl -s x)", "a shell reading commands from its input cannot be followed"],
    ["xargs -I{} sh -c {}", "xargs builds the command from its input, which cannot be followed"],
    ["xargs -0I{} sh -c {}", "xargs builds the command from its input, which cannot be followed"],
    ["xargs -I{} env -S {}", "xargs builds the command from its input, which cannot be followed"],
    ["R=rm; $R -rf victim env -- -S x", "the program name comes from a variable or substitution"],
    ["bash -s arg <<< 'rm -rf /'", "a shell reading commands from its input cannot be followed"],
    ["wget -qO- https://x | bash -s -- --yes", "a shell reading commands from its input cannot be followed"],
    ["bash //dev/stdin <<< 'rm -rf /'", "a shell reading commands from its input cannot be followed"],
    ["bash /dev/./stdin <<< 'rm -rf /'", "a shell reading commands from its input cannot be followed"],
    ["bash $S <<< 'rm -rf /'", "a shell reading commands from its input cannot be followed"],
    ["bash -c", "a shell -c without a command"],
    [`${"eval ".repeat(12)}ls`, "commands are nested too deeply to follow"],
    [Array.from({ length: 600 }, () => "a").join(";"), "more than 500 commands in one call"],
  ])("reports what it cannot follow: %j", (command, problem) => {
    expect(analyseCommand(command).problem).toBe(problem);
  });

  it("xargs -i of another program is that program's option, not xargs's: nothing to ask about", () => {
    for (const command of ["ls | xargs grep -i foo", "xargs sed -i 's/a/b/' f", "git ls-files | xargs grep -I foo"])
      expect(analyseCommand(command).problem, command).toBeNull();
  });

  it("env in another program's arguments runs nothing", () => {
    expect(analyseCommand("echo hello env -S x").parts.map((p) => p.allowForms[0])).toEqual(["echo hello env -S x"]);
  });

  it("a long chain of wrappers is a problem, not a run out of memory", () => {
    expect(analyseCommand(`${"env -S ".repeat(20_000)}rm -rf /`).problem).toMatch(/wrappers|nested too deeply/);
    expect(analyseCommand(`${"sudo ".repeat(20_000)}rm -rf /`).problem).toMatch(/more than 32 wrappers/);
  });

  it("xargs -I with a shell still shows the shell's command to deny rules", () => {
    expect(denyForms("ls | xargs -0I{} sh -c 'rm -rf /'")).toContain("rm -rf /");
  });

  it("nested find -exec stays linear: a problem, reported at once", () => {
    const r = analyseCommand(`${"find -exec ".repeat(200)}x`);
    expect(r.problem).toMatch(/nested too deeply|more than/);
  });

  it("a line of redirections alone is still a part, so an allow rule must cover it", () => {
    expect(analyseCommand("> /etc/passwd").parts.map((p) => p.allowForms[0])).toEqual(["> /etc/passwd"]);
  });

  it("still reports the parts it found before a problem", () => {
    expect(analyseCommand("rm -rf / && echo 'open").parts.map((p) => p.allowForms[0])).toEqual(["rm -rf /"]);
  });
});

describe("nesting far past what Bash follows", () => {
  it.each([
    ["$(", ")"],
    ["(", ")"],
  ])("is a problem to report, not a crash (%s … %s, 5000 deep)", (open, close) => {
    const command = `${open.repeat(5000)}rm -rf /${close.repeat(5000)}`;
    expect(analyseCommand(command).problem).toMatch(/nested too deeply/);
  });
});

describe("analyseCommand on long commands", () => {
  // Claude Code may run a command of hundreds of kilobytes (a here-document, a generated script); a
  // scanner that re-read its own text per character once took minutes on one and held the server.
  it("splits a megabyte of words, quotes and redirections, and keeps each part's text", () => {
    const unit = `echo "a b" 'c'>out 2>&1 x$y | `;
    const many = unit.repeat(Math.ceil((1024 * 1024) / unit.length / 1000));
    const long = `${"z".repeat(1024 * 1024)} && rm -rf /tmp/x`;
    const a = analyseCommand(many.slice(0, -3));
    expect(a.problem).toBeNull();
    expect(a.parts.length).toBe(Math.ceil((1024 * 1024) / unit.length / 1000));
    expect(a.parts[0]?.allowForms[0]).toBe(`echo "a b" 'c'>out 2>&1 x$y`);
    const b = analyseCommand(long);
    expect(b.parts.map((p) => p.allowForms[0]?.length)).toEqual([1024 * 1024, "rm -rf /tmp/x".length]);
    const redirections = analyseCommand("a>b ".repeat(256 * 1024));
    expect(redirections.problem).toBeNull();
    expect(redirections.parts).toHaveLength(1);
    expect(redirections.parts[0]?.allowForms[0]?.length).toBe(4 * 256 * 1024 - 1);
  });
});
