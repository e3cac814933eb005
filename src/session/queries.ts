// Read models over session history: transcript pages, per-session metrics and latency, status counts.
import { z } from "zod";
import { approvalStore } from "../approval";
import type { Db } from "../store/db";
import { SessionErrors } from "./errors";
import type { TranscriptItem } from "./schema";
import { type SessionStatus, SessionStatusSchema } from "./status";
import { sessionStore } from "./store";

export const SessionMetricsSchema = z.object({
  sessionId: z.string(),
  turns: z.object({
    total: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
    interrupted: z.number().int(),
  }),
  messages: z.object({ user: z.number().int(), assistant: z.number().int() }),
  toolCalls: z.object({
    total: z.number().int(),
    errors: z.number().int(),
    byTool: z.record(z.string(), z.number().int()),
  }),
  tokens: z.object({
    input: z.number().int(),
    output: z.number().int(),
    cacheRead: z.number().int(),
    cacheWrite: z.number().int(),
  }),
  costUsd: z.number(),
  approvals: z.object({
    total: z.number().int(),
    pending: z.number().int(),
    approved: z.number().int(),
    rejected: z.number().int(),
    cancelled: z.number().int(),
    expired: z.number().int(),
  }),
});
export type SessionMetrics = z.infer<typeof SessionMetricsSchema>;

const Stats = z.object({
  count: z.number().int(),
  minMs: z.number().nullable(),
  medianMs: z.number().nullable(),
  p95Ms: z.number().nullable(),
  maxMs: z.number().nullable(),
});

export const SessionLatencySchema = z.object({
  sessionId: z.string(),
  timeToFirstToken: Stats,
  turnDuration: Stats,
  approvalWait: Stats,
  turns: z.array(
    z.object({
      turnId: z.string(),
      startedAt: z.string(),
      ttftMs: z.number().nullable(),
      durationMs: z.number().nullable(),
      status: z.string(),
    }),
  ),
});
export type SessionLatency = z.infer<typeof SessionLatencySchema>;

export function stats(values: number[]): z.infer<typeof Stats> {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => (v.length ? (v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? null) : null);
  const round = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);
  return {
    count: v.length,
    minMs: round(v[0] ?? null),
    medianMs: round(at(0.5)),
    p95Ms: round(at(0.95)),
    maxMs: round(v[v.length - 1] ?? null),
  };
}

export async function transcriptPage(db: Db, sessionId: string, cursor: string | undefined, limit: number) {
  // The route's schema admits only digits.
  const after = cursor === undefined ? 0 : Number(cursor);
  const rows = await sessionStore.listItems(db, sessionId, after, limit + 1);
  const page = rows.slice(0, limit);
  const items: TranscriptItem[] = page.map(({ seq: _seq, ...item }) => item);
  return { items, nextCursor: rows.length > limit ? String(page[page.length - 1]?.seq) : null };
}

export async function sessionMetrics(db: Db, sessionId: string): Promise<SessionMetrics> {
  const s = await sessionStore.get(db, sessionId);
  if (!s) throw SessionErrors.notFound();
  const turns = await sessionStore.turns(db, sessionId);
  const counts = await sessionStore.itemCounts(db, sessionId);
  const approvals = await approvalStore.forSession(db, sessionId);
  const byTool: Record<string, number> = {};
  let toolErrors = 0;
  const ofKind = { user: 0, assistant: 0 };
  for (const c of counts) {
    if (c.kind === "user" || c.kind === "assistant") ofKind[c.kind] += c.n;
    if (c.kind !== "tool") continue;
    const name = String(c.tool);
    byTool[name] = (byTool[name] ?? 0) + c.n;
    if (c.isError) toolErrors += c.n;
  }
  const count = (k: string) => approvals.filter((a) => a.status === k).length;
  return {
    sessionId,
    turns: {
      total: turns.length,
      completed: turns.filter((t) => t.status === "completed").length,
      failed: turns.filter((t) => t.status === "failed").length,
      interrupted: turns.filter((t) => t.status === "interrupted").length,
    },
    messages: ofKind,
    toolCalls: { total: Object.values(byTool).reduce((a, b) => a + b, 0), errors: toolErrors, byTool },
    tokens: {
      input: s.totals.inputTokens,
      output: s.totals.outputTokens,
      cacheRead: s.totals.cacheReadTokens,
      cacheWrite: s.totals.cacheWriteTokens,
    },
    costUsd: s.totals.costUsd,
    approvals: {
      total: approvals.length,
      pending: count("pending"),
      approved: count("approved"),
      rejected: count("rejected"),
      cancelled: count("cancelled"),
      expired: count("expired"),
    },
  };
}

/** Every session status with how many sessions are in it (zero included), across all tenants. */
export async function sessionCountsByStatus(db: Db): Promise<Record<SessionStatus, number>> {
  const counts = Object.fromEntries(SessionStatusSchema.options.map((s) => [s, 0])) as Record<SessionStatus, number>;
  for (const r of await sessionStore.countByStatus(db)) counts[r.status] = r.n;
  return counts;
}

export async function sessionLatency(db: Db, sessionId: string): Promise<SessionLatency> {
  const turns = await sessionStore.turns(db, sessionId);
  const approvals = await approvalStore.forSession(db, sessionId);
  const num = (xs: Array<number | null>) => xs.filter((x): x is number => x !== null);
  return {
    sessionId,
    timeToFirstToken: stats(num(turns.map((t) => t.ttftMs))),
    turnDuration: stats(num(turns.filter((t) => t.status !== "running").map((t) => t.durationMs))),
    approvalWait: stats(num(approvals.map((a) => a.waitMs))),
    turns: turns.map((t) => ({
      turnId: t.id,
      startedAt: t.startedAt,
      ttftMs: t.ttftMs,
      durationMs: t.durationMs,
      status: t.status,
    })),
  };
}
