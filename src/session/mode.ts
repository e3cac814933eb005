// Changing a running session's permission mode: audited first (fail closed), then applied; if
// Claude Code refuses the mode, the old one is stored again and the refusal is audited. A session's
// changes run one at a time, so "the old one" is always the mode Claude Code last accepted. A change
// Claude Code is known to refuse (bypassPermissions in a process started without it) is refused
// here, recorded as denied, and never recorded as done.
import { actorOf, type Caller } from "../auth";
import type { AuditEntry } from "../core/audit";
import { event } from "../core/events";
import type { PermissionMode } from "../runtime/types";
import type { LiveSession, SessionContext } from "./context";
import { SessionErrors } from "./errors";
import { SessionUpdated } from "./events";
import { isLive } from "./status";
import { sessionStore } from "./store";

export async function changePermissionMode(
  ctx: SessionContext,
  live: LiveSession,
  mode: PermissionMode,
  caller: Caller,
): Promise<void> {
  const change = live.modeChange.then(() => apply(ctx, live, mode, caller));
  live.modeChange = change.catch(() => {});
  return change;
}

async function apply(ctx: SessionContext, live: LiveSession, mode: PermissionMode, caller: Caller): Promise<void> {
  const handle = live.handle;
  if (live.closing) throw SessionErrors.notLive({ details: { id: live.id } });
  if (!live.ready || !handle) throw SessionErrors.notReady();
  const audit = (outcome: "ok" | "denied" | "error", error?: string): AuditEntry => ({
    actor: actorOf(caller),
    action: "session.update",
    target: { type: "session", id: live.id },
    params: { permissionMode: mode },
    outcome,
    ...(error ? { error } : {}),
  });
  if (mode === "bypassPermissions" && live.startMode !== "bypassPermissions") {
    const cause = `the session's Claude Code started in ${live.startMode ?? "another mode"}`;
    await ctx.transact(async (tx) => tx.audit(audit("denied", cause)));
    throw SessionErrors.modeRefused({ details: { permissionMode: mode, cause } });
  }
  const before = (await sessionStore.get(ctx.db, live.id))?.permissionMode ?? mode;
  const record = (m: PermissionMode, entry: AuditEntry) =>
    ctx.transact(async (tx) => {
      // A kill may have committed first: a stopped session's mode stays as it ended.
      const s = await sessionStore.get(tx.db, live.id);
      if (!s || !isLive(s.status)) throw SessionErrors.notLive({ details: { id: live.id, status: s?.status } });
      await sessionStore.update(tx.db, live.id, { permissionMode: m }, ctx.clock.now().toISOString());
      tx.emit(event(SessionUpdated, live.id, { permissionMode: m }));
      tx.audit(entry);
    });
  await record(mode, audit("ok"));
  try {
    await handle.setPermissionMode(mode);
  } catch (err) {
    // Stopped meanwhile (a kill): that is the answer, not a refusal by Claude Code.
    if (live.closing) throw SessionErrors.notLive({ details: { id: live.id } });
    const cause = (err as Error).message;
    await record(before, audit("error", cause));
    throw SessionErrors.modeRefused({ details: { permissionMode: mode, cause } });
  }
}
