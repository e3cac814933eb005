import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate";
import { ruleFor } from "./policies";
import { parsePolicy } from "./service";

const WORK = "/work/proj";
/** A session layer holding the rule allow_always remembers, over a server that asks for everything. */
function decideAfterAlways(call: { toolName: string; input: Record<string, unknown> }, next = call) {
  const rule = ruleFor(call, "allow", "key_1");
  if (!rule) return "not remembered";
  const layers = [
    { name: "session" as const, policy: parsePolicy({ rules: [rule] }) },
    { name: "server" as const, policy: parsePolicy({ rules: [{ tool: "*", decision: "ask", reason: "ask" }] }) },
  ];
  return evaluate(layers, { ...next, workDir: WORK }).decision;
}

describe("allow_always remembers a rule for exactly the call", () => {
  it.each([
    ["a path with glob characters (a Next.js route)", `${WORK}/app/(group)/[id]/page+x.tsx`],
    ["a path with braces and stars", `${WORK}/src/{a}*?.ts`],
  ])("%s: a valid rule that matches the same file again", (_what, file) => {
    expect(decideAfterAlways({ toolName: "Write", input: { file_path: file } })).toBe("allow");
  });

  it("a path with .. is remembered as the file it names", () => {
    const call = { toolName: "Read", input: { file_path: `${WORK}/src/../README.md` } };
    expect(decideAfterAlways(call, { toolName: "Read", input: { file_path: `${WORK}/README.md` } })).toBe("allow");
  });

  it("a search with no path is remembered for the workDir, not for the whole tool", () => {
    const call = { toolName: "Grep", input: { pattern: "x" } };
    expect(decideAfterAlways(call)).toBe("allow");
    expect(decideAfterAlways(call, { toolName: "Grep", input: { pattern: "x", path: "/etc" } })).toBe("ask");
  });

  it("a path no rule can name exactly is not remembered (allowed this once only)", () => {
    expect(ruleFor({ toolName: "Read", input: { file_path: "../outside/x" } }, "allow", "key_1")).toBeNull();
  });
});
