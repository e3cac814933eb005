// Session errors: stable codes, HTTP statuses and messages that say what to do.
import { defineError } from "../core/errors";

export const SessionErrors = {
  notFound: defineError(
    "SESSION_NOT_FOUND",
    404,
    "No session with that id or name; list sessions with GET /v1/sessions.",
  ),
  conversationNotFound: defineError(
    "CONVERSATION_NOT_FOUND",
    404,
    "No Claude Code conversation with that id that this key may resume; resume one of a session this key may act on.",
  ),
  workDirNotFound: defineError("WORKDIR_NOT_FOUND", 400, "workDir must be an existing directory on the server."),
  nameTaken: defineError(
    "SESSION_NAME_TAKEN",
    409,
    "A live session already has this name; pick another name or kill that session first.",
  ),
  notLive: defineError(
    "SESSION_NOT_LIVE",
    409,
    "The session has ended; create a new session or resume this one with `resume`.",
  ),
  queueFull: defineError(
    "SESSION_QUEUE_FULL",
    429,
    "Too many messages are queued for this session; wait for the current turn to finish.",
  ),
  noPendingApproval: defineError("NO_PENDING_APPROVAL", 409, "The session has no pending tool call to decide."),
  noPendingQuestion: defineError("NO_PENDING_QUESTION", 409, "The session has no pending question to answer."),
  editDenied: defineError(
    "EDIT_DENIED_BY_POLICY",
    403,
    "The edited input is denied by policy, so it cannot be approved; approve the call as asked, or reject it.",
  ),
  approvalSettled: defineError("APPROVAL_SETTLED", 409, "This approval was already decided or has expired."),
  approvalNotFound: defineError("APPROVAL_NOT_FOUND", 404, "No pending approval with that id in this session."),
  runtimeUnavailable: defineError(
    "RUNTIME_UNAVAILABLE",
    503,
    "The Claude Code binary is not available; install it (npm install) or set claudePath in the config, then check GET /v1/ready.",
  ),
  notReady: defineError("SESSION_NOT_READY", 409, "The session is still starting; retry when its status is idle."),
  workDirNotAllowed: defineError(
    "WORKDIR_NOT_ALLOWED",
    400,
    "workDir is outside the directories this server allows; add a parent directory to security.allowedWorkDirs.",
  ),
  envNotAllowed: defineError("ENV_NOT_ALLOWED", 400, "This environment variable may not be set for a session."),
  forbidden: defineError("SESSION_FORBIDDEN", 403, "Your API key may read this session but not act on it."),
  shuttingDown: defineError(
    "SERVER_SHUTTING_DOWN",
    503,
    "Aegis is shutting down and starts no more sessions; retry once it is back (sessions resume then).",
  ),
  tooManySessions: defineError("TOO_MANY_SESSIONS", 429, "Too many live sessions; kill one or wait for one to end."),
  observed: defineError(
    "SESSION_OBSERVED",
    409,
    "This is an observed session (Claude Code started outside Aegis); Aegis can decide its tool calls but not send it prompts or interrupt it.",
  ),
  modeRefused: defineError(
    "PERMISSION_MODE_REFUSED",
    409,
    "Claude Code refused this permission mode for the running session (bypassPermissions needs a session created with it); create a new session with the mode instead.",
  ),
  notWorking: defineError(
    "SESSION_NOT_WORKING",
    409,
    "The session is not running a turn; there is nothing to interrupt.",
  ),
};

/** Codes recorded on a failed session (`session.error.code`). */
export const SessionFailureCodes = {
  authRequired: "AUTH_REQUIRED",
  startFailed: "START_FAILED",
  processExited: "PROCESS_EXITED",
  resumeFailed: "RESUME_FAILED",
} as const;
