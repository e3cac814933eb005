// The policy domain's public surface: rules, evaluation, persistence.
export { PolicyErrors } from "./errors";
export { type CompiledPolicy, compilePolicy, evaluate } from "./evaluate";
export * from "./events";
export { sessionGate } from "./gate";
export { type CallSubjects, callSubjects, type Subject } from "./match";
export { policyMigration } from "./migration";
export { PolicyService, ruleFor, type SessionScope } from "./policies";
export * from "./schema";
export { type PolicyIssue, parsePolicy, policyIssues, savePolicy } from "./service";
export { analyseCommand } from "./shell";
export { type NewPolicyVersion, policyStore } from "./store";
