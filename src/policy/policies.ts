// The running policy service: loads each call's layers (server, tenant, key, session), decides
// tool calls for the session domain, remembers "always" decisions, and serves the policy API.
import { posix } from "node:path";
import type { AuditActor } from "../core/audit";
import type { Db } from "../store/db";
import type { Transact, Tx } from "../store/tx";
import { PolicyErrors } from "./errors";
import { evaluate } from "./evaluate";
import { checkPathGlob } from "./glob";
import type { EvaluationInput, Policy, PolicyLayer, PolicyScope, Rule, StoredPolicy, Verdict } from "./schema";
import { COMMAND_TOOL, DOMAIN_TOOL, FILE_TOOLS, SERVER_SCOPE_ID } from "./schema";
import { parsePolicy, savePolicy } from "./service";
import { policyStore } from "./store";

export interface SessionScope {
  tenant: string;
  ownerKeyId: string | null;
  workDir: string;
}

export interface PolicyServiceDeps {
  db: Db;
  transact: Transact;
  clock: { now(): Date };
  /** The server policy from the config file, used until one is saved through the API. */
  configDefault: Policy | undefined;
  /** Tenant and owner of a session, for its layers. */
  sessionScope: (sessionId: string) => Promise<SessionScope | undefined>;
}

export class PolicyService {
  /** Parsed policies by scope and version, so evaluate's compile cache (by identity) stays warm. */
  private readonly cache = new Map<string, Policy>();

  constructor(private readonly deps: PolicyServiceDeps) {}

  private keep(s: StoredPolicy): Policy | null {
    if (!s.policy) return null;
    const k = `${s.scope.type}:${s.scope.id}:${s.version}`;
    let p = this.cache.get(k);
    if (!p) {
      p = s.policy;
      this.cache.set(k, p);
    }
    return p;
  }

  /** The layers that apply to a session's calls, most general first. */
  async layers(
    sessionId: string | null,
    scope: Omit<SessionScope, "workDir"> | null,
  ): Promise<Array<{ name: PolicyLayer; policy: Policy }>> {
    const scopes: PolicyScope[] = [{ type: "server", id: SERVER_SCOPE_ID }];
    if (scope) scopes.push({ type: "tenant", id: scope.tenant });
    if (scope?.ownerKeyId) scopes.push({ type: "key", id: scope.ownerKeyId });
    if (sessionId) scopes.push({ type: "session", id: sessionId });
    const stored = await policyStore.latestFor(this.deps.db, scopes);
    const out: Array<{ name: PolicyLayer; policy: Policy }> = [];
    const server = stored.find((s) => s.scope.type === "server");
    const serverPolicy = server ? this.keep(server) : (this.deps.configDefault ?? null);
    if (serverPolicy) out.push({ name: "server", policy: serverPolicy });
    for (const s of stored) {
      if (s.scope.type === "server") continue;
      const p = this.keep(s);
      if (p) out.push({ name: s.scope.type, policy: p });
    }
    return out;
  }

  /** The verdict for one tool call of a session. */
  async decide(sessionId: string, call: Omit<EvaluationInput, "workDir"> & { workDir?: string }): Promise<Verdict> {
    const scope = await this.deps.sessionScope(sessionId);
    const layers = await this.layers(sessionId, scope ?? null);
    return evaluate(layers, {
      toolName: call.toolName,
      input: call.input,
      workDir: call.workDir ?? scope?.workDir ?? "/",
    });
  }

  async get(
    scope: PolicyScope,
  ): Promise<{ scope: PolicyScope; version: number; policy: Policy | null; source: "api" | "config" | "none" }> {
    const s = await policyStore.latest(this.deps.db, scope);
    if (s) return { scope, version: s.version, policy: s.policy, source: "api" };
    if (scope.type === "server" && this.deps.configDefault)
      return { scope, version: 0, policy: this.deps.configDefault, source: "config" };
    return { scope, version: 0, policy: null, source: "none" };
  }

  async put(scope: PolicyScope, policy: unknown, actor: AuditActor): Promise<StoredPolicy> {
    const at = this.deps.clock.now().toISOString();
    return this.deps.transact(async (tx) => {
      if (scope.type === "session" && actor.role !== "admin") await keepsOverrides(tx, scope, policy);
      return savePolicy(tx, { scope, policy, actor, at });
    });
  }

  async history(scope: PolicyScope, limit: number): Promise<StoredPolicy[]> {
    return policyStore.history(this.deps.db, scope, { limit });
  }

  /** Adds a rule for exactly this call to the session's policy (allow_always / reject_always). */
  async remember(
    sessionId: string,
    call: { toolName: string; input: Record<string, unknown> },
    decision: "allow" | "deny",
    by: AuditActor,
    /** The unit of work of the decision, so the rule and the decision commit together. */
    tx?: Tx,
  ): Promise<void> {
    const scope: PolicyScope = { type: "session", id: sessionId };
    const add = async (t: Tx) => {
      const current = (await policyStore.latest(t.db, scope))?.policy ?? { rules: [] };
      const rule = ruleFor(call, decision, by.keyId ?? "someone");
      // A call no rule can name exactly is decided this once; nothing broader is remembered.
      if (!rule) return;
      const at = this.deps.clock.now().toISOString();
      await savePolicy(t, { scope, policy: { ...current, rules: [rule, ...current.rules] }, actor: by, at });
    };
    await (tx ? add(tx) : this.deps.transact(add));
  }

  evaluateWith(layers: Array<{ name: PolicyLayer; policy: Policy }>, call: EvaluationInput): Verdict {
    return evaluate(layers, call);
  }
}

const escapeGlob = (s: string) => s.replace(/[*?[\]{}()!+@\\]/g, (c) => `\\${c}`);

/** The narrowest rule that matches this call again: the same command, file or host. */
export function ruleFor(
  call: { toolName: string; input: Record<string, unknown> },
  decision: "allow" | "deny",
  by: string,
): Rule | null {
  const reason = `${decision === "allow" ? "allowed" : "rejected"} always by ${by}`;
  const i = call.input;
  // A person answered an ask with "always": that answer stands against the ask next time too.
  const extra = decision === "allow" ? { overridesAsk: true } : {};
  if (call.toolName === COMMAND_TOOL && typeof i.command === "string") {
    return { tool: COMMAND_TOOL, command: { glob: escapeGlob(i.command) }, decision, reason, ...extra } as Rule;
  }
  const pathKeys = FILE_TOOLS[call.toolName];
  if (pathKeys) {
    const pathKey = pathKeys.find((k) => typeof i[k] === "string" && i[k] !== "");
    // No path: the call acts on the workDir, which `**` covers (and nothing outside it).
    const path = pathKey ? escapeGlob(posix.normalize(String(i[pathKey]))) : "**";
    return checkPathGlob(path) ? null : ({ tool: call.toolName, path, decision, reason, ...extra } as Rule);
  }
  if (call.toolName === DOMAIN_TOOL && typeof i.url === "string") {
    try {
      return { tool: DOMAIN_TOOL, domain: new URL(i.url).hostname, decision, reason, ...extra } as Rule;
    } catch {
      // not a URL: fall back to the whole tool
    }
  }
  return { tool: escapeGlob(call.toolName), decision, reason, ...extra } as Rule;
}

/**
 * An `overridesAsk` rule stands for a person's answer (allow_always adds it). Below admin, a session
 * policy may keep the ones it has but not add one: that would wave through every ask of the wider
 * layers (an operator's `{ tool: "*", overridesAsk: true }` skipped the server's asks).
 */
async function keepsOverrides(tx: Tx, scope: PolicyScope, input: unknown): Promise<void> {
  const rules = parsePolicy(input).rules.filter((r) => r.overridesAsk === true);
  if (rules.length === 0) return;
  const current = (await policyStore.latest(tx.db, scope))?.policy?.rules ?? [];
  const kept = new Set(current.filter((r) => r.overridesAsk === true).map((r) => JSON.stringify(r)));
  const added = rules.find((r) => !kept.has(JSON.stringify(r)));
  if (added)
    throw PolicyErrors.overrideNotAnswered({ details: { rule: { tool: added.tool, decision: added.decision } } });
}
