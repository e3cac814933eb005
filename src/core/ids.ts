// Prefixed, time-sortable identifiers (`ses_01J…`) and their schemas.
import { monotonicFactory } from "ulid";
import { z } from "zod";

const nextUlid = monotonicFactory();

export const ID_PREFIXES = ["ses", "apr", "evt", "tri", "trn", "key", "hki"] as const;
export type IdPrefix = (typeof ID_PREFIXES)[number];

export function newId<P extends IdPrefix>(prefix: P): `${P}_${string}` {
  return `${prefix}_${nextUlid().toLowerCase()}`;
}

export function idSchema<P extends IdPrefix>(prefix: P) {
  return z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `must be an id starting with "${prefix}_"`);
}
