// API keys, roles, principals: who is calling.
import { z } from "zod";
import { idSchema } from "../core/ids";
import { PermissionSchema } from "./permissions";

export const RoleSchema = z.enum(["admin", "operator", "viewer"]);
export type Role = z.infer<typeof RoleSchema>;

const MAX_EXPIRY_SECONDS = 10 * 365 * 24 * 3600;
const EXPIRY = `a whole number of seconds from 1 to ${MAX_EXPIRY_SECONDS} (ten years)`;

export const TenantSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "use lowercase letters, digits, '_' and '-'");

export const ApiKeySchema = z.object({
  id: idSchema("key"),
  name: z.string(),
  role: RoleSchema,
  tenant: z.string(),
  scopes: z.array(PermissionSchema).nullable().describe("When set, the key may do only these (within its role)."),
  rateLimitPerMinute: z.number().int().nullable(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  rotatedTo: z.string().nullable().describe("The key that replaced this one, if rotated."),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const CreateKeyInputSchema = z.strictObject({
  name: z.string().min(1).max(100),
  role: RoleSchema,
  tenant: TenantSchema.optional().describe("Defaults to the caller's tenant."),
  scopes: z.array(PermissionSchema).min(1).optional(),
  expiresInSeconds: z
    .number({ error: EXPIRY })
    .int({ error: EXPIRY })
    .positive({ error: EXPIRY })
    .max(MAX_EXPIRY_SECONDS, { error: EXPIRY })
    .optional(),
  rateLimitPerMinute: z.number().int().positive().max(100_000).optional(),
});
export type CreateKeyInput = z.infer<typeof CreateKeyInputSchema>;

export const CreatedKeySchema = ApiKeySchema.extend({
  token: z.string().describe("The secret. Shown once; only a keyed hash is stored."),
});

export const RotateKeyInputSchema = z.strictObject({
  gracePeriodSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 24 * 3600)
    .default(3600)
    .describe("How long the old secret keeps working."),
});

/** The authenticated caller of a request. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
  tenant: string;
  scopes: readonly string[] | null;
  rateLimitPerMinute: number | null;
  /** How the caller proved itself. */
  via: "api_key" | "bootstrap_token" | "sse_token" | "metrics_token";
  /**
   * Which of a stored key's secrets the caller presented (a prefix of its keyed hash): a rotation's
   * grace period ends the old secret, not the key, so later checks must know which one it was.
   */
  secretFingerprint?: string | undefined;
}

export const PrincipalSchema = z.object({
  keyId: z.string(),
  name: z.string(),
  role: RoleSchema,
  tenant: z.string(),
  scopes: z.array(z.string()).nullable(),
  via: z.enum(["api_key", "bootstrap_token", "sse_token", "metrics_token"]),
  permissions: z.array(PermissionSchema),
});

/** A request's caller: the principal and the client address. */
export interface Caller {
  principal: Principal;
  ip: string | null;
  /** W3C traceparent of the request's span when tracing is on: the turns it starts join that trace. */
  traceparent?: string | undefined;
}

/** Aegis itself (restart recovery, timers). */
export const SYSTEM_CALLER: Caller = {
  principal: {
    keyId: "system",
    name: "aegis",
    role: "admin",
    tenant: "default",
    scopes: null,
    rateLimitPerMinute: null,
    via: "api_key",
  },
  ip: null,
};

export function actorOf(c: Caller): Actor {
  return { keyId: c.principal.keyId, role: c.principal.role, tenant: c.principal.tenant, ip: c.ip };
}

/** Who did something, as the audit trail records it. */
export interface Actor {
  keyId: string | null;
  role: Role | null;
  tenant: string | null;
  ip: string | null;
}
