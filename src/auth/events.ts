// Auth events: what other parts of Aegis must hear about keys.
import { z } from "zod";
import { defineEvent, type StoredEvent } from "../core/events";

/** A key was revoked: whatever it opened (event streams) must close now. */
export const KeyRevoked = defineEvent(
  "key.revoked",
  z.object({ keyId: z.string(), name: z.string(), tenant: z.string() }),
);

/** The id of the key `e` revoked, if it is a key.revoked event. */
export function revokedKeyOf(e: StoredEvent): string | undefined {
  return e.type === KeyRevoked.type ? (e.data as z.infer<typeof KeyRevoked.schema>).keyId : undefined;
}
