// A prompt to an idle session may go to Claude Code while its record and audit entry commit, when
// nothing of it can reach the model (or, through the model, any tool) before they have: every model
// request of such a session passes the model gateway, which holds the session's requests until the
// record has committed. Claude Code starts on the prompt at once instead of a commit later. If the
// record cannot commit, the gateway refuses the requests, and Claude Code is restarted on its
// conversation cut back to before the prompt: the prompt never reaches the model, and the session
// stays usable, as when a prompt is refused before it is sent.
import type { LiveSession, SessionContext } from "./context";
import { fail, startRuntime } from "./driver";
import { SessionFailureCodes } from "./errors";
import { sessionStore } from "./store";

/** Where the conversation is cut back to if the prompt's record fails: set when `text` may go early. */
export function earlyCutPoint(live: LiveSession, text: string): string | null {
  if (!live.gated || live.handle === null) return null;
  // A slash command may act before any model call (a custom command can run a shell command).
  if (text.trimStart().startsWith("/")) return null;
  return live.keepPoint;
}

/** Holds the session's model requests until the returned function says whether the prompt was recorded. */
export function holdModelCalls(live: LiveSession): (recorded: boolean) => void {
  let settle!: (recorded: boolean) => void;
  const recording = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  live.recording = recording;
  return (recorded) => {
    settle(recorded);
    // A prompt that was not recorded keeps refusing until Claude Code is restarted without it.
    if (recorded && live.recording === recording) live.recording = null;
  };
}

/** What the gateway asks before it forwards a session's request: true, or a promise of whether it may. */
export function admitModelCall(ctx: SessionContext, sessionId: string): true | Promise<boolean> {
  return ctx.lives.get(sessionId)?.recording ?? true;
}

/**
 * The prompt `dropPrompt` reached Claude Code but its record did not commit, and Claude Code holds
 * it in its conversation, where it would reach the model with the next prompt. The process is
 * replaced by one resumed on the conversation cut after `entry`. If that fails, the session fails.
 */
export async function rewind(
  ctx: SessionContext,
  live: LiveSession,
  at: { entry: string; dropPrompt: string },
  cause: Error,
): Promise<void> {
  const old = live.handle;
  live.handle = null;
  live.ready = false;
  live.turn = null;
  live.tools.clear();
  await old?.close();
  live.recording = null;
  ctx.log.warn({ sessionId: live.id, err: cause }, "a prompt could not be recorded; restarting Claude Code without it");
  try {
    const record = await sessionStore.get(ctx.db, live.id);
    if (!record) throw new Error("the session's record is gone");
    await startRuntime(ctx, live, record, true, at);
  } catch (err) {
    // The database refuses this too: the session's Claude Code stays stopped, and the session fails if it can be recorded.
    const message = `The prompt could not be recorded (${cause.message}) and Claude Code could not be restarted without it (${(err as Error).message}).`;
    await fail(ctx, live, SessionFailureCodes.promptNotRecorded, message).catch((e: unknown) =>
      ctx.log.error({ err: e, sessionId: live.id }, "could not record a session's failure"),
    );
  }
}
