// Prefixed, time-sortable identifiers (`ses_01J…`) and their schemas.
import { randomFillSync } from "node:crypto";
import { monotonicFactory } from "ulid";
import { z } from "zod";

/**
 * ulid's default generator asks the OS for one random byte per character (16 calls per id); ids
 * are made on every event, so draw the bytes from a pool refilled in one call.
 */
const pool = new Uint8Array(4096);
let used = pool.length;
function pooledRandom(): number {
  if (used >= pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  // 256 values onto ulid's 32 symbols (it multiplies by 32 and floors): uniform.
  return (pool[used++] as number) / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

export const ID_PREFIXES = ["ses", "apr", "evt", "tri", "trn", "key", "hki"] as const;
export type IdPrefix = (typeof ID_PREFIXES)[number];

export function newId<P extends IdPrefix>(prefix: P): `${P}_${string}` {
  return `${prefix}_${nextUlid().toLowerCase()}`;
}

/** A lowercase ULID without a prefix (audit record ids). */
export function newUlid(): string {
  return nextUlid().toLowerCase();
}

export function idSchema<P extends IdPrefix>(prefix: P) {
  return z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `must be an id starting with "${prefix}_"`);
}
