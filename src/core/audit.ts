// What a domain hands to the audit trail inside a unit of work; the audit domain chains and stores it.
export interface AuditActor {
  keyId: string | null;
  role: string | null;
  tenant: string | null;
  ip: string | null;
}

export interface AuditEntry {
  actor: AuditActor;
  /** `resource.verb`, e.g. `session.create`, `key.revoke`, `auth.failed`. */
  action: string;
  target: { type: string; id: string } | null;
  /** Parameters of the action, with secrets already removed. */
  params: Record<string, unknown>;
  outcome: "ok" | "denied" | "error";
  error?: string | undefined;
}
