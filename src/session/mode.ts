// Changing a running session's permission mode: audited first (fail closed), then applied; if
// Claude Code refuses the mode, the old one is stored again and the refusal is audited. A session's
// changes run one at a time, so "the old one" is always the mode Claude Code last accepted.
import { actorOf, type Caller } from "../auth";
import { event } from "../core/events";
import type { PermissionMode } from "../runtime/types";
import type { LiveSession, SessionContext } from "./context";
import { SessionErrors } from "./errors";
import { SessionUpdated } from "./events";
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
  if (!live.ready || !handle) throw SessionErrors.notReady();
  const before = (await sessionStore.get(ctx.db, live.id))?.permissionMode ?? mode;
  const record = (m: PermissionMode, error?: string) =>
    ctx.transact(async (tx) => {
      await sessionStore.update(tx.db, live.id, { permissionMode: m }, ctx.clock.now().toISOString());
      tx.emit(event(SessionUpdated, live.id, { permissionMode: m }));
      tx.audit({
        actor: actorOf(caller),
        action: "session.update",
        target: { type: "session", id: live.id },
        params: { permissionMode: mode },
        ...(error ? { outcome: "error" as const, error } : { outcome: "ok" as const }),
      });
    });
  await record(mode);
  try {
    await handle.setPermissionMode(mode);
  } catch (err) {
    const cause = (err as Error).message;
    await record(before, cause);
    throw SessionErrors.modeRefused({ details: { permissionMode: mode, cause } });
  }
}
