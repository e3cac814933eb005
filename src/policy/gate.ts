// Adapts the policy service to what the session domain asks of a policy engine.
import type { PolicyGate } from "../session";
import type { PolicyService } from "./policies";

export function sessionGate(policies: PolicyService): PolicyGate {
  return {
    async decide(sessionId, call) {
      const v = await policies.decide(sessionId, call);
      return {
        decision: v.decision,
        reason: v.reason,
        approvalTimeoutSeconds: v.approvalTimeoutSeconds ?? undefined,
        rule: v.rule ? { layer: v.rule.layer, index: v.rule.index } : null,
      };
    },
    remember: (sessionId, call, decision, by, tx) =>
      policies.remember(sessionId, call, decision, { keyId: by, role: null, tenant: null, ip: null }, tx),
  };
}
