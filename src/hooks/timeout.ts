// How long a PermissionRequest hook may be held: just under the hook's own timeout, so Claude Code
// gets an answer (and falls back to its own prompt) instead of cancelling the call itself.

/**
 * `serverSeconds` is hooks.timeoutSeconds; `hookSeconds` the timeout the hook says it was installed
 * with (the X-Aegis-Hook-Timeout header), if it says. The shorter one wins, less a margin of 5 s
 * (half the timeout for very short ones) for the answer to travel.
 */
export function permissionHoldMs(serverSeconds: number, hookSeconds: number | undefined): number {
  const timeout = Math.min(serverSeconds, hookSeconds ?? serverSeconds);
  return Math.round((timeout - Math.min(5, timeout / 2)) * 1000);
}
