// Turn persistence (SQLite): one row per turn with its timing, usage and outcome.
import type { Db } from "../store/db";
import { statement } from "../store/statement";

interface TurnsTable {
  id: string;
  session_id: string;
  prompt_item_id: string | null;
  status: string;
  started_at: string;
  ttft_ms: number | null;
  duration_ms: number | null;
  api_duration_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number;
  model_usage: string | null;
  error_code: string | null;
  error_message: string | null;
  ended_at: string | null;
}
type Tables = { turns: TurnsTable };
const t = (db: Db) => db.withTables<Tables>();

// The other columns keep their defaults: zero usage, no timings, no error.
const END_TURN = `update turns set status = ?, ended_at = ?, ttft_ms = ?, duration_ms = ?, api_duration_ms = ?,
  model_usage = ?, error_code = ?, error_message = ?`;
// Only a running turn ends: one a kill or a failure closed already keeps that end.
const endWithUsage = statement<{ id: string }>(
  `${END_TURN}, input_tokens = ?, output_tokens = ?, cache_read_tokens = ?, cache_write_tokens = ?, cost_usd = ? where id = ? and status = 'running' returning id`,
);
const endWithoutUsage = statement<{ id: string }>(`${END_TURN} where id = ? and status = 'running' returning id`);
const insertTurn = statement(
  "insert into turns (id, session_id, prompt_item_id, status, started_at) values (?, ?, ?, 'running', ?)",
);

type Usage = {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
};

export interface TurnRecord {
  id: string;
  sessionId: string;
  status: "running" | "completed" | "failed" | "interrupted";
  startedAt: string;
  ttftMs: number | null;
  durationMs: number | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  errorCode: string | null;
}

export const turnStore = {
  async startTurn(db: Db, turn: { id: string; sessionId: string; promptItemId: string | null; startedAt: string }) {
    await insertTurn.run(db, [turn.id, turn.sessionId, turn.promptItemId, turn.startedAt]);
  },

  async endTurn(
    db: Db,
    id: string,
    end: {
      status: TurnRecord["status"];
      endedAt: string;
      ttftMs: number | null;
      durationMs: number | null;
      apiDurationMs?: number | null;
      usage?: Usage;
      modelUsage?: unknown;
      error?: { code: string; message: string } | null;
    },
  ) {
    const u = end.usage;
    // Without usage (a turn that failed or was cut short) the counts keep their values.
    const rows = await (u ? endWithUsage : endWithoutUsage).run(db, [
      end.status,
      end.endedAt,
      end.ttftMs,
      end.durationMs,
      end.apiDurationMs ?? null,
      end.modelUsage === undefined ? null : JSON.stringify(end.modelUsage),
      end.error?.code ?? null,
      end.error?.message ?? null,
      ...(u ? [u.inputTokens, u.outputTokens, u.cacheReadTokens, u.cacheWriteTokens, u.costUsd] : []),
      id,
    ]);
    return rows.length > 0;
  },

  /** Ends the session's running turns as interrupted (`code` says why); returns their ids. */
  async abandonTurns(db: Db, sessionId: string, at: string, error: { code: string; message: string }) {
    const rows = await t(db)
      .updateTable("turns")
      .set({ status: "interrupted", ended_at: at, error_code: error.code, error_message: error.message })
      .where("session_id", "=", sessionId)
      .where("status", "=", "running")
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  },

  async turns(db: Db, sessionId: string): Promise<TurnRecord[]> {
    const rows = await t(db)
      .selectFrom("turns")
      .selectAll()
      .where("session_id", "=", sessionId)
      .orderBy("started_at")
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      sessionId: r.session_id,
      status: r.status as TurnRecord["status"],
      startedAt: r.started_at,
      ttftMs: r.ttft_ms,
      durationMs: r.duration_ms,
      inputTokens: r.input_tokens,
      outputTokens: r.output_tokens,
      cacheReadTokens: r.cache_read_tokens,
      cacheWriteTokens: r.cache_write_tokens,
      costUsd: r.cost_usd,
      errorCode: r.error_code,
    }));
  },
};
