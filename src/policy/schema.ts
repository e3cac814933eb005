// Policy documents: ordered tool rules with a decision each, validated so a bad rule is named by index and field.
import { z } from "zod";
import { checkCommandGlob, checkDomain, checkPathGlob, checkRegex, checkToolGlob, toolAccepts } from "./glob";

export const PolicyDecisionSchema = z.enum(["allow", "deny", "ask"]);
export type PolicyDecision = z.infer<typeof PolicyDecisionSchema>;

/** Layers from the most specific to the least; the order decides which layer names a reason or a default. */
export const POLICY_LAYERS = ["session", "key", "tenant", "server"] as const;
export const PolicyLayerSchema = z.enum(POLICY_LAYERS);
export type PolicyLayer = z.infer<typeof PolicyLayerSchema>;

/** Tools whose input names a file or directory, and the input fields that hold it. */
export const FILE_TOOLS: Readonly<Record<string, readonly string[]>> = {
  Read: ["file_path"],
  Write: ["file_path"],
  Edit: ["file_path"],
  MultiEdit: ["file_path"],
  NotebookEdit: ["notebook_path"],
  Glob: ["path"],
  Grep: ["path"],
  LS: ["path"],
};
export const COMMAND_TOOL = "Bash";
export const DOMAIN_TOOL = "WebFetch";

export const MAX_APPROVAL_TIMEOUT_SECONDS = 7 * 24 * 3600;

const ApprovalTimeoutSchema = z
  .number()
  .int()
  .min(1)
  .max(MAX_APPROVAL_TIMEOUT_SECONDS)
  .describe("Seconds a person has to answer an `ask`; then the call is denied and the model is told the reason.");

const CommandMatchSchema = z.union(
  [
    z.strictObject({
      glob: z
        .string()
        .describe(
          "`*` is any text (spaces and slashes too), `?` one character; a trailing ` *` also matches the bare command.",
        ),
    }),
    z.strictObject({
      regex: z.string().describe("A regular expression in RE2 syntax (no lookaround or backreferences), unanchored."),
    }),
  ],
  // Lengths are checked in the rule's refinement, so a long pattern gets its own message, not this one.
  { error: 'give either { "glob": "..." } or { "regex": "..." }' },
);

export const RuleSchema = z
  .strictObject({
    id: z.string().min(1).max(100).optional().describe("A name for the rule, shown in decisions and errors."),
    tool: z
      .string()
      .min(1)
      .max(200)
      .describe("Tool name, exact (`Bash`) or a glob (`mcp__github__*`, `{Write,Edit}`)."),
    command: CommandMatchSchema.optional().describe("Bash only: what the command (each part of a compound one) is."),
    path: z
      .string()
      .min(1)
      .max(1000)
      .optional()
      .describe("File tools only: a glob, relative to the session's workDir or absolute."),
    domain: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe("WebFetch only: the URL's host, exact (`example.com`) or `*.example.com` for its subdomains."),
    decision: PolicyDecisionSchema,
    reason: z.string().min(1).max(1000).describe("Told to the model and the approver."),
    approvalTimeoutSeconds: ApprovalTimeoutSchema.optional(),
    overridesAsk: z
      .boolean()
      .optional()
      .describe(
        "Session layer, allow rules only: the calls it covers are allowed even where another layer says ask " +
          "(a person already decided; deny still wins). The rules allow_always adds set it.",
      ),
  })
  .superRefine((rule, ctx) => {
    const fail = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const toolProblem = checkToolGlob(rule.tool);
    if (toolProblem) return fail(["tool"], toolProblem);
    if (rule.overridesAsk && rule.decision !== "allow")
      return fail(["overridesAsk"], "only an allow rule can override ask");
    const targets = (["command", "path", "domain"] as const).filter((k) => rule[k] !== undefined);
    if (targets.length > 1) {
      return fail(
        [targets[1] ?? "path"],
        `use only one of command, path or domain per rule (found ${targets.join(", ")})`,
      );
    }
    if (rule.command) {
      if (!toolAccepts(rule.tool, [COMMAND_TOOL])) {
        return fail(["command"], `command applies only to the Bash tool, and tool "${rule.tool}" never matches Bash`);
      }
      const problem = "regex" in rule.command ? checkRegex(rule.command.regex) : checkCommandGlob(rule.command.glob);
      if (problem) fail(["command", "regex" in rule.command ? "regex" : "glob"], problem);
    }
    if (rule.path !== undefined) {
      if (!toolAccepts(rule.tool, Object.keys(FILE_TOOLS))) {
        return fail(
          ["path"],
          `path applies only to file tools (${Object.keys(FILE_TOOLS).join(", ")}), and tool "${rule.tool}" matches none`,
        );
      }
      const problem = checkPathGlob(rule.path);
      if (problem) fail(["path"], problem);
    }
    if (rule.domain !== undefined) {
      if (!toolAccepts(rule.tool, [DOMAIN_TOOL])) {
        return fail(["domain"], `domain applies only to the WebFetch tool, and tool "${rule.tool}" never matches it`);
      }
      const problem = checkDomain(rule.domain);
      if (problem) fail(["domain"], problem);
    }
  });
export type Rule = z.infer<typeof RuleSchema>;

export const PolicySchema = z.strictObject({
  description: z.string().max(2000).optional(),
  rules: z.array(RuleSchema).max(1000).describe("Checked all together: deny beats ask beats allow."),
  default: PolicyDecisionSchema.optional().describe(
    "Decision when no rule of any layer matches; the most specific layer that sets one wins, else ask.",
  ),
  approvalTimeoutSeconds: ApprovalTimeoutSchema.optional(),
});
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;

/** Where a policy applies. The server scope has the single id `SERVER_SCOPE_ID`. */
export const PolicyScopeSchema = z.strictObject({
  type: PolicyLayerSchema,
  id: z.string().min(1).max(200),
});
export type PolicyScope = z.infer<typeof PolicyScopeSchema>;
export const SERVER_SCOPE_ID = "server";

/** One stored version of a scope's policy; `policy: null` records that the scope's policy was removed. */
export const StoredPolicySchema = z.object({
  scope: PolicyScopeSchema,
  version: z.number().int().positive(),
  policy: PolicySchema.nullable(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
});
export type StoredPolicy = z.infer<typeof StoredPolicySchema>;

export const EvaluationInputSchema = z.object({
  toolName: z.string(),
  input: z.record(z.string(), z.unknown()),
  /** The session's working directory (absolute, already free of symlinks); relative paths resolve against it. */
  workDir: z.string(),
});
export type EvaluationInput = z.infer<typeof EvaluationInputSchema>;

/** What `evaluate` returns. (Not `Decision`: the approval domain already names a person's answer so.) */
export const VerdictSchema = z.object({
  decision: PolicyDecisionSchema,
  reason: z.string(),
  /** The rule that decided, or null when a default did. */
  rule: z.object({ layer: PolicyLayerSchema, index: z.number().int().min(0), rule: RuleSchema }).nullable(),
  /** What the rule matched: the part of a compound command, the resolved path or the host. */
  subject: z.string().nullable(),
  /** For `ask`: seconds before the call is denied; null means the server's own limit. */
  approvalTimeoutSeconds: z.number().int().positive().nullable(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

export interface PolicyLayerInput {
  name: PolicyLayer;
  policy: Policy;
}
