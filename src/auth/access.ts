// The one ownership rule. Every surface that shows or touches a session asks here.
import type { Principal } from "./schema";

export interface SessionOwnership {
  tenant: string;
  ownerKeyId: string | null;
}

export interface TenantPolicy {
  /** Members of a sharing tenant may read and act on each other's sessions. */
  shareSessions: boolean;
}

export type TenantPolicies = (tenant: string) => TenantPolicy;

/**
 * admin: every session. Others only inside their tenant: viewers read every session of the tenant;
 * operators read and act on their own sessions, and on the tenant's others when it shares them.
 */
export function canReadSession(p: Principal, s: SessionOwnership, tenants: TenantPolicies): boolean {
  if (p.role === "admin") return true;
  if (p.tenant !== s.tenant) return false;
  if (p.role === "viewer") return true;
  return s.ownerKeyId === p.keyId || tenants(s.tenant).shareSessions;
}

export function canActOnSession(p: Principal, s: SessionOwnership, tenants: TenantPolicies): boolean {
  if (p.role === "admin") return true;
  if (p.role === "viewer" || p.tenant !== s.tenant) return false;
  return s.ownerKeyId === p.keyId || tenants(s.tenant).shareSessions;
}

/** The filter a list query applies so it returns only sessions `p` may read. */
export function sessionListScope(p: Principal, tenants: TenantPolicies): { tenant?: string; ownerKeyId?: string } {
  if (p.role === "admin") return {};
  if (p.role === "viewer" || tenants(p.tenant).shareSessions) return { tenant: p.tenant };
  return { tenant: p.tenant, ownerKeyId: p.keyId };
}
