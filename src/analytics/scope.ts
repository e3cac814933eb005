// The caller's reach as a SQL condition: sessionListScope's filter applied to a table alias.
import { type RawBuilder, sql } from "kysely";

/** What a caller may see (src/auth/access.ts sessionListScope). */
export interface Scope {
  tenant?: string | undefined;
  ownerKeyId?: string | undefined;
}

export interface Range {
  from: string;
  to: string;
}

/** `alias.tenant = … AND alias.owner_key_id = …` for the parts the scope sets; always true for admins. */
export function scopedSql(alias: string, scope: Scope): RawBuilder<unknown> {
  const col = (c: string) => sql.ref(`${alias}.${c}`);
  const parts: RawBuilder<unknown>[] = [];
  if (scope.tenant !== undefined) parts.push(sql`${col("tenant")} = ${scope.tenant}`);
  if (scope.ownerKeyId !== undefined) parts.push(sql`${col("owner_key_id")} = ${scope.ownerKeyId}`);
  return parts.length === 0 ? sql`1 = 1` : sql.join(parts, sql` AND `);
}
