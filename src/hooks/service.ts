// Hook installations: each gets a random secret that Claude Code sends in a header; only a keyed
// hash is stored, compared in constant time, and the secret is never returned again.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { actorOf, type Caller, canActOnSession, type TenantPolicies } from "../auth";
import type { Clock } from "../core/clock";
import { type AppError, defineError } from "../core/errors";
import { newId } from "../core/ids";
import type { Db } from "../store/db";
import type { Transact } from "../store/tx";
import type { Installation } from "./schema";
import { type InstallationRecord, installationStore } from "./store";

export const HookErrors = {
  secretMissing: defineError(
    "HOOK_SECRET_REQUIRED",
    401,
    "Send the installation's secret in the X-Aegis-Hook-Secret header (never in the URL or body).",
  ),
  secretInvalid: defineError(
    "HOOK_SECRET_INVALID",
    401,
    "The hook secret is unknown or revoked; run `ag hooks install` again.",
  ),
  notFound: defineError("HOOK_INSTALLATION_NOT_FOUND", 404, "No hook installation with that id."),
  eventMismatch: defineError("HOOK_EVENT_MISMATCH", 400, "The body's hook_event_name must match the event in the URL."),
  sessionForeign: defineError(
    "HOOK_SESSION_FOREIGN",
    403,
    "This Claude Code session is observed by another tenant's hook installation; hooks of one session must all come from one tenant.",
  ),
};

/** Where a hook call came from, for the audit record of a refused one. */
export interface HookOrigin {
  ip: string;
  method: string;
  path: string;
}

const hash = (key: Buffer, secret: string) => createHmac("sha256", key).update(secret).digest();

export class HookService {
  constructor(
    private readonly deps: {
      db: Db;
      transact: Transact;
      clock: Clock;
      serverSecret: Buffer;
      /** Whether the key that made an installation still works: its secret lives no longer. */
      ownerWorks: (keyId: string | null) => Promise<boolean>;
      tenants: TenantPolicies;
    },
  ) {}

  async install(name: string, caller: Caller): Promise<Installation & { secret: string }> {
    const id = newId("hki");
    const secret = `ahs_${id}_${randomBytes(32).toString("base64url")}`;
    const record: InstallationRecord = {
      id,
      name,
      ownerKeyId: caller.principal.keyId,
      tenant: caller.principal.tenant,
      createdAt: this.deps.clock.now().toISOString(),
      revokedAt: null,
      secretHash: hash(this.deps.serverSecret, secret).toString("hex"),
    };
    await this.deps.transact(async (tx) => {
      await installationStore.insert(tx.db, record);
      tx.audit({
        actor: actorOf(caller),
        action: "hooks.install",
        target: { type: "hook_installation", id },
        params: { name },
        outcome: "ok",
      });
    });
    const { secretHash: _h, ...pub } = record;
    return { ...pub, secret };
  }

  async list(caller: Caller): Promise<Installation[]> {
    const rows = await installationStore.list(
      this.deps.db,
      caller.principal.role === "admin" ? undefined : caller.principal.tenant,
    );
    return rows.map(({ secretHash: _h, ...pub }) => pub);
  }

  async revoke(id: string, caller: Caller): Promise<Installation> {
    const r = await installationStore.get(this.deps.db, id);
    // The sessions rule: another owner's installation only in a tenant that shares sessions.
    if (!r || !canActOnSession(caller.principal, r, this.deps.tenants)) throw HookErrors.notFound();
    await this.deps.transact(async (tx) => {
      await installationStore.revoke(tx.db, id, this.deps.clock.now().toISOString());
      tx.audit({
        actor: actorOf(caller),
        action: "hooks.revoke",
        target: { type: "hook_installation", id },
        params: {},
        outcome: "ok",
      });
    });
    const { secretHash: _h, ...pub } = (await installationStore.get(this.deps.db, id)) ?? r;
    return pub;
  }

  /**
   * The installation a secret belongs to, or an error to answer with; a refusal is audited as
   * `auth.failed` (never with the secret).
   */
  async authenticate(secret: string | undefined, from: HookOrigin): Promise<InstallationRecord> {
    if (!secret) return this.refuse(HookErrors.secretMissing(), "no hook secret", from, undefined);
    const { record, matches } = await this.lookup(secret);
    if (!record || !matches) return this.refuse(HookErrors.secretInvalid(), "invalid hook secret", from, record?.id);
    if (record.revokedAt) return this.refuse(HookErrors.secretInvalid(), "revoked hook installation", from, record.id);
    if (!(await this.deps.ownerWorks(record.ownerKeyId)))
      return this.refuse(HookErrors.secretInvalid(), "hook installation of a revoked or expired key", from, record.id);
    return record;
  }

  /** The live installation `secret` belongs to, or undefined; nothing is audited. */
  async verify(secret: string | undefined): Promise<InstallationRecord | undefined> {
    if (!secret) return undefined;
    const { record, matches } = await this.lookup(secret);
    if (!record || !matches || record.revokedAt) return undefined;
    return (await this.deps.ownerWorks(record.ownerKeyId)) ? record : undefined;
  }

  private async lookup(secret: string): Promise<{ record: InstallationRecord | undefined; matches: boolean }> {
    const id = /^ahs_(hki_[0-9a-z]{26})_[A-Za-z0-9_-]{43}$/.exec(secret)?.[1];
    const record = id ? await installationStore.get(this.deps.db, id) : undefined;
    const expected = Buffer.from(record?.secretHash ?? "00".repeat(32), "hex");
    return { record, matches: timingSafeEqual(hash(this.deps.serverSecret, secret), expected) };
  }

  private async refuse(
    err: AppError,
    reason: string,
    from: HookOrigin,
    installationId: string | undefined,
  ): Promise<never> {
    await this.deps.transact(async (tx) =>
      tx.audit({
        actor: { keyId: null, role: null, tenant: null, ip: from.ip },
        action: "auth.failed",
        target: installationId ? { type: "hook_installation", id: installationId } : null,
        params: { reason, method: from.method, path: from.path },
        outcome: "denied",
      }),
    );
    throw err;
  }
}
