// The hash chain: how a record's hash is computed and how the next record is built from the head.
import { hash } from "node:crypto";
import { newUlid } from "../core/ids";
import { canonicalJson, toJsonValue, toWellFormed } from "./canonical-json";
import type { AuditInput, AuditRecord, ChainHead } from "./schema";

/** A new audit record id: a lowercase ULID (core/ids has no audit prefix yet). */
export function newAuditId(): string {
  return newUlid();
}

export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}

/** SHA-256 hex over the JCS form of the record with every field except `hash` (prevHash included). */
export function hashRecord(record: Omit<AuditRecord, "hash"> & { hash?: string }): string {
  const { hash: _ignored, ...body } = record;
  return sha256Hex(canonicalJson(body));
}

const nullableWellFormed = (s: string | null) => (s === null ? null : toWellFormed(s));

/**
 * The record that follows `head`. Strings are made well-formed and params normalised to plain
 * JSON first, so the stored or exported record re-hashes to the same value.
 */
export function buildRecord(head: ChainHead, input: AuditInput, meta: { id: string; time: string }): AuditRecord {
  return nextRecord(head, input, meta).record;
}

/** As buildRecord, with the params' canonical JSON (what the store keeps), serialised once for both. */
export function nextRecord(
  head: ChainHead,
  input: AuditInput,
  meta: { id: string; time: string },
): { record: AuditRecord; paramsJson: string } {
  const params = toJsonValue(input.params);
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    throw new TypeError("audit params must be a JSON object");
  }
  const body: Omit<AuditRecord, "hash"> = {
    seq: head.seq + 1,
    id: meta.id,
    time: meta.time,
    actor: {
      keyId: nullableWellFormed(input.actor.keyId),
      role: nullableWellFormed(input.actor.role),
      tenant: nullableWellFormed(input.actor.tenant),
      ip: nullableWellFormed(input.actor.ip),
    },
    action: toWellFormed(input.action),
    target: input.target ? { type: toWellFormed(input.target.type), id: toWellFormed(input.target.id) } : null,
    params,
    outcome: input.outcome,
    ...(input.error === undefined ? {} : { error: toWellFormed(input.error) }),
    prevHash: head.hash,
  };
  const paramsJson = canonicalJson(params);
  return { record: { ...body, hash: sha256Hex(canonicalBody(body, paramsJson)) }, paramsJson };
}

const str = JSON.stringify;
const strOrNull = (s: string | null) => (s === null ? "null" : str(s));

/**
 * canonicalJson(body) for a record's fixed shape, written out: keys in RFC 8785's order, strings
 * and the integer seq as JSON.stringify writes them (as RFC 8785 does), params already canonical.
 * hashRecord, which verification uses, serialises generically; a test holds the two equal.
 */
export function canonicalBody(body: Omit<AuditRecord, "hash">, paramsJson: string): string {
  const { actor, target } = body;
  return (
    `{"action":${str(body.action)},"actor":{"ip":${strOrNull(actor.ip)},"keyId":${strOrNull(actor.keyId)},` +
    `"role":${strOrNull(actor.role)},"tenant":${strOrNull(actor.tenant)}},` +
    (body.error === undefined ? "" : `"error":${str(body.error)},`) +
    `"id":${str(body.id)},"outcome":${str(body.outcome)},"params":${paramsJson},"prevHash":${str(body.prevHash)},` +
    `"seq":${body.seq},"target":${target ? `{"id":${str(target.id)},"type":${str(target.type)}}` : "null"},` +
    `"time":${str(body.time)}}`
  );
}
