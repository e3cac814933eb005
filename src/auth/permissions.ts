// The permission matrix: what each role may do. Routes name one permission each.
import { z } from "zod";

export const PermissionSchema = z.enum([
  "session.read",
  "session.create",
  "session.control",
  "event.read",
  "key.read",
  "key.manage",
  "audit.read",
  "policy.read",
  "policy.manage",
  "metrics.read",
  "self.read",
]);
export type Permission = z.infer<typeof PermissionSchema>;

type Role = "admin" | "operator" | "viewer";

/**
 * viewer reads; operator also creates and controls sessions; admin also manages keys, policies
 * and the audit trail. Which sessions a permission reaches is decided in access.ts.
 */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  viewer: ["session.read", "event.read", "policy.read", "metrics.read", "self.read"],
  operator: [
    "session.read",
    "event.read",
    "policy.read",
    "metrics.read",
    "self.read",
    "session.create",
    "session.control",
  ],
  admin: PermissionSchema.options,
};

export function permissionsOf(role: Role, scopes: readonly string[] | null): Permission[] {
  const base = ROLE_PERMISSIONS[role];
  return scopes ? base.filter((p) => scopes.includes(p)) : [...base];
}

export function hasPermission(role: Role, scopes: readonly string[] | null, permission: Permission): boolean {
  return permissionsOf(role, scopes).includes(permission);
}
