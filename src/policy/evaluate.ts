// Decides a tool call against layered policies: deny beats ask beats allow; no match falls to a default.
//
// Evaluation order (README "Tool policies" says the same):
//  1. The call is broken into the things it acts on: each simple command of a Bash line (see
//     shell.ts), each resolved path of a file tool, the host of a WebFetch URL.
//  2. Every rule of every layer whose `tool` matches is checked; rule order inside a policy does
//     not change the outcome, only which rule is named.
//  3. A deny rule matching ANY subject (or the whole Bash line) denies. Else an ask rule matching
//     any subject asks. Else the call is allowed when allow rules cover EVERY subject (a rule
//     naming only a tool covers them all).
//  4. Within one decision the most specific layer (session > key > tenant > server) and then the
//     lowest rule index names the reason and the approval timeout.
//  5. No decision yet: the `default` of the most specific layer that sets one, else "ask".
//  5a. Under an admin layer's `default: deny` (an allow-list), the session layer (an operator writes
//     it) cannot loosen: its default counts only if it is deny too, and only its overridesAsk allow
//     rules (a person's answer) count. Over an ask it may allow: its operator could answer anyway.
//  5b. An ask gives way to session-layer allow rules marked `overridesAsk` (what allow_always
//     adds: a person already decided) when they cover EVERY subject. A deny never does.
//  6. A call Aegis could not follow (unparseable command, missing path, non-http URL) is never
//     allowed: an allow becomes an ask. A deny stays a deny.
// Claude Code's own permission mode and settings apply first: Aegis is consulted for the calls
// Claude Code would prompt for (canUseTool), and by hooks where the lead wires them. "allow"
// answers that prompt without a person; it never overrides a deny Claude Code made itself.
import { type CompiledRule, callSubjects, compileRule, type Subject } from "./match";
import {
  type EvaluationInput,
  POLICY_LAYERS,
  type Policy,
  type PolicyDecision,
  type PolicyLayer,
  type PolicyLayerInput,
  type Verdict,
} from "./schema";

export interface CompiledPolicy {
  policy: Policy;
  rules: CompiledRule[];
}

const compiled = new WeakMap<Policy, CompiledPolicy>();

/** Compiles a validated policy once; later calls with the same object reuse the matchers. */
export function compilePolicy(policy: Policy): CompiledPolicy {
  let c = compiled.get(policy);
  if (!c) {
    c = { policy, rules: policy.rules.map(compileRule) };
    compiled.set(policy, c);
  }
  return c;
}

const rank = (layer: PolicyLayer) => POLICY_LAYERS.indexOf(layer);

interface Hit {
  layer: PolicyLayerInput;
  rule: CompiledRule;
  subject: string | null;
}

/** Decides one tool call. Layers may come in any order; each policy must have passed PolicySchema. */
export function evaluate(layers: readonly PolicyLayerInput[], call: EvaluationInput): Verdict {
  const ordered = [...layers].sort((a, b) => rank(a.name) - rank(b.name));
  // Under an admin `default: deny` (an allow-list), the session layer, which an operator writes,
  // allows nothing of its own: only a person's answer (overridesAsk) counts there.
  const allowList = floorOf(ordered) === "deny";
  const { subjects, whole, problem } = callSubjects(call.toolName, call.input, call.workDir);
  const covered = new Array<boolean>(subjects.length).fill(false);
  let uncovered = subjects.length;
  // The same coverage, counting only the session's overridesAsk rules.
  const decided = new Array<boolean>(subjects.length).fill(false);
  let override: Hit | null = null;
  let overridesAll = false;
  let ask: Hit | null = null;
  let allow: Hit | null = null;
  let allowsAll = false;

  for (const layer of ordered) {
    for (const rule of compilePolicy(layer.policy).rules) {
      if (!rule.tool(call.toolName)) continue;
      const decision = rule.rule.decision;
      if (decision !== "allow") {
        if (decision === "ask" && ask) continue;
        const subject = blockedSubject(rule, subjects, whole);
        if (subject === undefined) continue;
        const hit = { layer, rule, subject };
        if (decision === "deny") return fromRule("deny", hit, ordered);
        ask = hit;
        continue;
      }
      const overrides = rule.rule.overridesAsk === true && layer.name === "session";
      if (allowList && layer.name === "session" && !overrides) continue;
      if (!rule.test) {
        allowsAll = true;
        allow ??= { layer, rule, subject: null };
        if (overrides) {
          overridesAll = true;
          override ??= { layer, rule, subject: null };
        }
        continue;
      }
      for (let i = 0; i < subjects.length; i++) {
        if (!rule.test(subjects[i] as Subject, false)) continue;
        if (overrides && !decided[i]) {
          decided[i] = true;
          override ??= { layer, rule, subject: (subjects[i] as Subject).label };
        }
        if (covered[i]) continue;
        covered[i] = true;
        uncovered--;
        allow ??= { layer, rule, subject: (subjects[i] as Subject).label };
      }
    }
  }

  if (ask) {
    const settled = override !== null && !problem && (overridesAll || decided.every(Boolean));
    return override !== null && settled ? fromRule("allow", override, ordered) : fromRule("ask", ask, ordered);
  }
  const verdict =
    allow && (allowsAll || uncovered === 0)
      ? fromRule("allow", allow, ordered)
      : byDefault(ordered, subjects.find((_, i) => !covered[i])?.label ?? null);
  if (problem && verdict.decision === "allow") {
    return {
      ...verdict,
      decision: "ask",
      reason: `Aegis could not follow this call safely (${problem}), so a person must decide.`,
      rule: null,
      approvalTimeoutSeconds: timeoutOf(ordered, null),
    };
  }
  return verdict;
}

/** The subject a deny or ask rule matches: a label, null for a tool-wide rule, undefined for no match. */
function blockedSubject(rule: CompiledRule, subjects: Subject[], whole: string | null): string | null | undefined {
  if (!rule.test) return subjects[0]?.label ?? null;
  for (const s of subjects) if (rule.test(s, true)) return s.label;
  if (whole !== null && rule.testWhole?.(whole)) return whole;
  return undefined;
}

function fromRule(decision: PolicyDecision, hit: Hit, ordered: readonly PolicyLayerInput[]): Verdict {
  return {
    decision,
    reason: hit.rule.rule.reason,
    rule: { layer: hit.layer.name, index: hit.rule.index, rule: hit.rule.rule },
    subject: hit.subject,
    approvalTimeoutSeconds: timeoutOf(ordered, hit),
  };
}

/** How much of a call's subject a reason quotes: the reason goes into events, the audit trail and Claude Code's context. */
const QUOTED_SUBJECT_CHARS = 200;

/** The default the layers beneath the session give (admin-written); without one, Aegis asks. */
function floorOf(ordered: readonly PolicyLayerInput[]): PolicyDecision {
  return ordered.find((l) => l.name !== "session" && l.policy.default !== undefined)?.policy.default ?? "ask";
}

function byDefault(ordered: readonly PolicyLayerInput[], unmatched: string | null): Verdict {
  const quoted =
    unmatched !== null && unmatched.length > QUOTED_SUBJECT_CHARS
      ? `${unmatched.slice(0, QUOTED_SUBJECT_CHARS)}…`
      : unmatched;
  const what = quoted === null ? "No policy rule matched this call" : `No policy rule allows \`${quoted}\``;
  const below = ordered.find((l) => l.name !== "session" && l.policy.default !== undefined);
  const session = ordered.find((l) => l.name === "session" && l.policy.default !== undefined);
  const floor = floorOf(ordered);
  // An ask the session's operator could answer anyway may become its allow; an admin's deny may not.
  const setter = session?.policy.default && (floor !== "deny" || session.policy.default === "deny") ? session : below;
  const decision = setter?.policy.default ?? "ask";
  const loosened =
    session && setter !== session ? ` (the session policy's default ${session.policy.default} cannot loosen it)` : "";
  const reason = setter
    ? `${what}; the ${setter.name} policy's default is ${decision}${loosened}.`
    : `${what}; with no default set, Aegis asks${loosened}.`;
  return { decision, reason, rule: null, subject: unmatched, approvalTimeoutSeconds: timeoutOf(ordered, null) };
}

/** The rule's own timeout, then its policy's, then the most specific layer that sets one. */
function timeoutOf(ordered: readonly PolicyLayerInput[], hit: Hit | null): number | null {
  return (
    hit?.rule.rule.approvalTimeoutSeconds ??
    hit?.layer.policy.approvalTimeoutSeconds ??
    ordered.find((l) => l.policy.approvalTimeoutSeconds !== undefined)?.policy.approvalTimeoutSeconds ??
    null
  );
}
