// /v1/audit: the tamper-evident trail — list, export (NDJSON, CSV) and verify.
import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  AuditRecordSchema,
  auditStore,
  exportCsv,
  exportNdjson,
  SignedCheckpointSchema,
  toCsv,
  toNdjson,
  VerifyResultSchema,
} from "../../audit";
import { wholeNumber, wholeSeq } from "../../core/whole-number";
import { ErrorResponseSchema } from "../errors";
import type { RouteDeps } from "./deps";

const AuditQuery = z.strictObject({
  actor: z.string().max(100).optional().describe("API key id of the actor."),
  action: z.string().max(200).optional().describe("e.g. session.create"),
  sessionId: z.string().max(100).optional().describe("Records whose target is this session."),
  tenant: z.string().max(64).optional(),
  outcome: z.enum(["ok", "denied", "error"]).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  cursor: wholeSeq().optional().describe("nextCursor of the previous page."),
  limit: wholeNumber(1, 1000).prefault(100),
  format: z
    .enum(["json", "ndjson", "csv"])
    .default("json")
    .describe(
      "ndjson and csv stream every matching record; an unfiltered ndjson export carries the signed checkpoints and verifies offline (`ag audit verify`).",
    ),
});
type AuditQuery = z.infer<typeof AuditQuery>;

const filterOf = (q: AuditQuery) => ({
  actorKeyId: q.actor,
  action: q.action,
  targetId: q.sessionId,
  tenant: q.tenant,
  outcome: q.outcome,
  from: q.from,
  to: q.to,
});
const unfiltered = (q: AuditQuery) => Object.values(filterOf(q)).every((v) => v === undefined);

const errors = { 400: ErrorResponseSchema, 401: ErrorResponseSchema, 403: ErrorResponseSchema };

export const auditRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, audit }) => {
  app.get(
    "/audit",
    {
      config: { permission: "audit.read" },
      schema: {
        operationId: "audit.list",
        tags: ["audit"],
        summary: "Audit records, oldest first; filter by actor, action, session, tenant, outcome and time.",
        querystring: AuditQuery,
        response: {
          200: z.object({ items: z.array(AuditRecordSchema), nextCursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (q.format === "ndjson") {
        const lines =
          unfiltered(q) && q.cursor === undefined
            ? exportNdjson(db)
            : toNdjson(auditStore.matching(db, { ...filterOf(q), afterSeq: q.cursor }), []);
        return download(reply, "application/x-ndjson", "audit.ndjson", lines);
      }
      if (q.format === "csv") {
        const rows =
          unfiltered(q) && q.cursor === undefined
            ? exportCsv(db)
            : toCsv(auditStore.matching(db, { ...filterOf(q), afterSeq: q.cursor }));
        return download(reply, "text/csv; charset=utf-8", "audit.csv", rows);
      }
      const items = await auditStore.list(db, { ...filterOf(q), afterSeq: q.cursor, limit: q.limit + 1 });
      const page = items.slice(0, q.limit);
      return { items: page, nextCursor: items.length > q.limit ? String(page[page.length - 1]?.seq) : null };
    },
  );

  app.get(
    "/audit/verify",
    {
      config: { permission: "audit.read" },
      schema: {
        operationId: "audit.verify",
        tags: ["audit"],
        summary: "Recompute the hash chain and check every signed checkpoint; names the first bad seq.",
        response: { 200: VerifyResultSchema, ...errors },
      },
    },
    async () => audit.verify(),
  );

  app.get(
    "/audit/checkpoints",
    {
      config: { permission: "audit.read" },
      schema: {
        operationId: "audit.checkpoints",
        tags: ["audit"],
        summary: "The signed checkpoints and the public key that verifies them.",
        response: {
          200: z.object({ publicKeyPem: z.string(), keyId: z.string(), items: z.array(SignedCheckpointSchema) }),
          ...errors,
        },
      },
    },
    async () => ({ publicKeyPem: audit.publicKeyPem, keyId: audit.keyId, items: await auditStore.listCheckpoints(db) }),
  );
};

/** Streams an export; the JSON response schema does not apply to a stream. */
function download(reply: FastifyReply, type: string, filename: string, chunks: AsyncIterable<string>) {
  void reply.type(type).header("content-disposition", `attachment; filename="${filename}"`);
  return reply.send(Readable.from(chunks) as unknown as undefined);
}
