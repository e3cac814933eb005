// Drives the real Claude Code binary (via the Agent SDK) against the fake model server.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Options,
  query,
  type SDKMessage,
  type SDKResultMessage,
  type SDKUserMessage,
} from "@anthropic-ai/claude-agent-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClaudeEnv, makeClaudeEnv } from "./claude-env";
import {
  firstUserText,
  lastToolResult,
  lastUserText,
  type ModelServer,
  messagesOf,
  startModelServer,
  toolResultText,
} from "./model-server";

let model: ModelServer;
beforeAll(async () => {
  model = await startModelServer();
});
afterAll(async () => {
  await model?.close();
});

let n = 0;
const marker = () => `MARK-${process.pid}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

interface Run {
  messages: SDKMessage[];
  result: SDKResultMessage | undefined;
  /** What the SDK iterator threw (it throws after an is_error result). */
  error: unknown;
  cwd: string;
}

const envs: ClaudeEnv[] = [];
/** A fresh HOME and cwd; extra env overrides (undefined removes). */
function claudeEnv(extraEnv: Record<string, string | undefined> = {}): ClaudeEnv {
  const ce = makeClaudeEnv(model.url, extraEnv);
  envs.push(ce);
  return ce;
}
afterAll(() => {
  for (const ce of envs) ce.cleanup();
});

/** Run one query() until `stopAfterResults` results (or the end). */
async function run(
  ce: ClaudeEnv,
  prompt: string | AsyncIterable<SDKUserMessage>,
  options: Options = {},
  stopAfterResults = 1,
): Promise<Run> {
  const messages: SDKMessage[] = [];
  let result: SDKResultMessage | undefined;
  let error: unknown;
  let results = 0;
  try {
    for await (const m of query({
      prompt,
      options: { cwd: ce.cwd, env: ce.env, pathToClaudeCodeExecutable: ce.claudePath, ...options },
    })) {
      messages.push(m);
      if (m.type === "result") {
        result = m;
        if (++results >= stopAfterResults) break;
      }
    }
  } catch (e) {
    error = e;
  }
  return { messages, result, error, cwd: ce.cwd };
}

/** Streaming input that yields user messages pushed later. */
function inputQueue() {
  const pending: string[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  return {
    push(text: string) {
      pending.push(text);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<SDKUserMessage> {
      while (true) {
        const text = pending.shift();
        if (text !== undefined)
          yield { type: "user", message: { role: "user", content: text }, parent_tool_use_id: null };
        else if (closed) return;
        else await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

const success = (r: Run) => {
  expect(r.error).toBeUndefined();
  expect(r.result?.subtype).toBe("success");
  expect(r.result?.is_error).toBe(false);
};

describe("fake model server with the real Claude Code", { timeout: 60_000 }, () => {
  it("answers a prompt with the scripted text, streamed as text deltas", async () => {
    const m = marker();
    const text = "Hello from the script, in a few pieces.";
    const script = model.script(m, [{ text, chunks: 4 }]);
    const r = await run(claudeEnv(), `${m} say hello`, { includePartialMessages: true });
    success(r);
    expect(r.result?.subtype === "success" && r.result.result).toBe(text);
    const deltas = r.messages.flatMap((x) =>
      x.type === "stream_event" && x.event.type === "content_block_delta" && x.event.delta.type === "text_delta"
        ? [x.event.delta.text]
        : [],
    );
    expect(deltas.length).toBe(4);
    expect(deltas.join("")).toBe(text);
    expect(script.done).toBe(true);
    const turns = model.turnRequests(m);
    expect(turns).toHaveLength(1);
    const req = turns[0];
    expect(firstUserText(req)).toBe(`${m} say hello`);
    expect(req).toMatchObject({
      method: "POST",
      path: "/v1/messages",
      headers: { "x-api-key": "test-key" },
      body: { stream: true },
    });
  });

  it("runs a scripted Write under bypassPermissions and sends the tool_result back", async () => {
    const m = marker();
    const ce = claudeEnv();
    let seen = "";
    model.script(m, [
      {
        text: "Writing it.",
        toolUse: {
          id: "toolu_write_1",
          name: "Write",
          input: { file_path: join(ce.cwd, "out.txt"), content: "scripted content\n" },
        },
      },
      (req) => {
        seen = toolResultText(lastToolResult(req)[0]);
        return { text: "Done." };
      },
    ]);
    const r = await run(ce, `${m} write a file`, {
      permissionMode: "bypassPermissions",
      allowDangerouslySkipPermissions: true,
    });
    success(r);
    expect(readFileSync(join(r.cwd, "out.txt"), "utf8")).toBe("scripted content\n");
    const turns = model.turnRequests(m);
    expect(turns).toHaveLength(2);
    const [tr] = lastToolResult(turns[1]);
    expect(tr?.tool_use_id).toBe("toolu_write_1");
    expect(tr?.is_error).not.toBe(true);
    expect(seen).toContain("File created successfully");
  });

  it("reports a canUseTool denial to the model as an error tool_result with the message", async () => {
    const m = marker();
    const asked: string[] = [];
    const ce = claudeEnv();
    model.script(m, [
      { toolUse: { id: "toolu_write_2", name: "Write", input: { file_path: join(ce.cwd, "nope.txt"), content: "x" } } },
      { text: "Understood." },
    ]);
    const r = await run(ce, `${m} try to write`, {
      permissionMode: "default",
      canUseTool: async (toolName) => {
        asked.push(toolName);
        return { behavior: "deny", message: "Denied by the test: no writes here" };
      },
    });
    success(r);
    expect(asked).toEqual(["Write"]);
    expect(existsSync(join(r.cwd, "nope.txt"))).toBe(false);
    const [tr] = lastToolResult(model.turnRequests(m)[1]);
    expect(tr).toMatchObject({ tool_use_id: "toolu_write_2", is_error: true });
    expect(toolResultText(tr)).toBe("Denied by the test: no writes here");
    expect(r.result?.permission_denials).toMatchObject([{ tool_name: "Write", tool_use_id: "toolu_write_2" }]);
  });

  it("gives up on a persistent 529 after CLAUDE_CODE_MAX_RETRIES retries", async () => {
    const m = marker();
    model.script(m, [{ error: { status: 529 }, repeat: true }]);
    const r = await run(claudeEnv({ CLAUDE_CODE_MAX_RETRIES: "2" }), `${m} overloaded`, {}, Number.POSITIVE_INFINITY);
    const retries = r.messages.filter((x) => x.type === "system" && x.subtype === "api_retry");
    expect(retries).toMatchObject([
      { attempt: 1, max_retries: 2, error_status: 529, error: "overloaded" },
      { attempt: 2, max_retries: 2, error_status: 529, error: "overloaded" },
    ]);
    expect(model.turnRequests(m)).toHaveLength(3);
    // The result says subtype "success" but is_error, with the API status.
    expect(r.result).toMatchObject({
      subtype: "success",
      is_error: true,
      api_error_status: 529,
      terminal_reason: "api_error",
    });
    expect(r.result?.subtype === "success" && r.result.result).toMatch(/^API Error: 529 Overloaded/);
    // ...and the SDK iterator throws when read past that result.
    expect(String(r.error)).toContain("Claude Code returned an error result");
  });

  it("fails at once with CLAUDE_CODE_MAX_RETRIES=0 (the claude-env default), or on x-should-retry: false", async () => {
    const m1 = marker();
    model.script(m1, [{ error: { status: 429 }, repeat: true }]);
    const r1 = await run(claudeEnv(), `${m1} limited`);
    expect(model.turnRequests(m1)).toHaveLength(1);
    expect(r1.result).toMatchObject({ is_error: true, api_error_status: 429 });
    const m2 = marker();
    model.script(m2, [{ error: { status: 529, headers: { "x-should-retry": "false" } }, repeat: true }]);
    const r2 = await run(claudeEnv({ CLAUDE_CODE_MAX_RETRIES: "3" }), `${m2} no retry`);
    expect(model.turnRequests(m2)).toHaveLength(1);
    expect(r2.result).toMatchObject({ is_error: true, api_error_status: 529 });
  });

  it("recovers when a retried request succeeds (529, then a dropped stream)", async () => {
    const m = marker();
    model.script(m, [
      { error: { status: 529 } },
      { text: "cut off mid-stream", dropAfterChunks: 4 },
      { text: "Recovered." },
    ]);
    const r = await run(claudeEnv({ CLAUDE_CODE_MAX_RETRIES: "3" }), `${m} flaky`);
    success(r);
    expect(r.result?.subtype === "success" && r.result.result).toBe("Recovered.");
    expect(r.messages.filter((x) => x.type === "system" && x.subtype === "api_retry")).toMatchObject([
      { error_status: 529 },
      { error_status: null },
    ]);
    expect(model.turnRequests(m)).toHaveLength(3);
  });

  it("streams thinking (thinking_delta + signature_delta) and sends it back with its signature", async () => {
    const m = marker();
    model.script(m, [
      {
        thinking: "Let me think about this carefully.",
        signature: "c2lnbmF0dXJlLTE=",
        text: "Running a command.",
        toolUse: { name: "Bash", input: { command: "echo thought", description: "echo" } },
      },
      { thinking: "Now answer.", text: "Thought it through." },
    ]);
    const r = await run(claudeEnv(), `${m} think`, {
      includePartialMessages: true,
      permissionMode: "bypassPermissions",
      allowDangerouslySkipPermissions: true,
    });
    success(r);
    expect(r.result?.subtype === "success" && r.result.result).toBe("Thought it through.");
    const kinds = r.messages.flatMap((x) =>
      x.type === "stream_event" && x.event.type === "content_block_delta" ? [x.event.delta.type] : [],
    );
    expect(kinds).toContain("thinking_delta");
    expect(kinds).toContain("signature_delta");
    const thinking = r.messages.flatMap((x) =>
      x.type === "assistant" ? x.message.content.filter((b) => b.type === "thinking") : [],
    );
    expect(thinking[0]).toMatchObject({
      thinking: "Let me think about this carefully.",
      signature: "c2lnbmF0dXJlLTE=",
    });
    const second = model.turnRequests(m)[1];
    const assistant = messagesOf(second).find((x) => x.role === "assistant");
    expect(JSON.stringify(assistant?.content)).toContain("c2lnbmF0dXJlLTE=");
    expect(toolResultText(lastToolResult(second)[0])).toBe("thought");
  });

  it("reports the scripted usage in result.usage / modelUsage / total_cost_usd", async () => {
    const m = marker();
    model.script(m, [
      {
        toolUse: { name: "Bash", input: { command: "true", description: "noop" } },
        usage: {
          input_tokens: 100,
          output_tokens: 40,
          cache_read_input_tokens: 1000,
          cache_creation_input_tokens: 200,
          thinking_tokens: 30,
        },
      },
      {
        text: "Counted.",
        usage: { input_tokens: 23, output_tokens: 5, cache_read_input_tokens: 1200, cache_creation_input_tokens: 0 },
      },
    ]);
    const r = await run(claudeEnv(), `${m} count`, {
      permissionMode: "bypassPermissions",
      allowDangerouslySkipPermissions: true,
    });
    success(r);
    const res = r.result;
    expect(res?.usage).toMatchObject({
      input_tokens: 123,
      output_tokens: 45,
      cache_read_input_tokens: 2200,
      cache_creation_input_tokens: 200,
    });
    expect(res?.num_turns).toBe(2);
    expect(res?.usage.output_tokens_details).toMatchObject({ thinking_tokens: 30 });
    const model0 = String(model.turnRequests(m)[0]?.body?.model);
    const mu = res?.modelUsage[model0];
    expect(mu).toMatchObject({
      inputTokens: 123,
      outputTokens: 45,
      cacheReadInputTokens: 2200,
      cacheCreationInputTokens: 200,
      thinkingTokens: 30,
    });
    expect(res?.total_cost_usd).toBeGreaterThan(0);
    expect(res?.total_cost_usd).toBeCloseTo(mu?.costUSD ?? -1, 10);
  });

  it("answers title requests and compaction without consuming the script", async () => {
    const m = marker();
    const script = model.script(m, [{ text: "First answer." }, { text: "Answer after compaction." }]);
    const input = inputQueue();
    input.push(`${m} first message`);
    const seen: SDKMessage[] = [];
    const r = run(claudeEnv({ CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: undefined }), input, {}, 3);
    // Feed the next message after each result.
    const feeder = (async () => {
      const wait = async (count: number) => {
        while (
          model.requests.filter((x) => x.conversation?.includes(m) && (x.kind === "turn" || x.kind === "compact"))
            .length < count
        )
          await new Promise((res) => setTimeout(res, 20));
      };
      await wait(1);
      await new Promise((res) => setTimeout(res, 300));
      input.push("/compact");
      await wait(2);
      await new Promise((res) => setTimeout(res, 300));
      input.push("and now?");
      await wait(3);
    })();
    const done = await r;
    await feeder;
    input.close();
    seen.push(...done.messages);
    expect(done.error).toBeUndefined();
    const mine = model.requests.filter((x) => (x.conversation ?? "").includes(m));
    expect(mine.filter((x) => x.kind === "title")).toHaveLength(1);
    expect(mine.filter((x) => x.kind !== "title").map((x) => x.kind)).toEqual(["turn", "compact", "turn"]);
    expect(script.done).toBe(true);
    expect(seen.some((x) => x.type === "system" && x.subtype === "compact_boundary")).toBe(true);
    const after = mine.filter((x) => x.kind === "turn")[1];
    expect(firstUserText(after)).toContain("This session is being continued");
    expect(lastUserText(after)).toContain("and now?");
    const results = seen.filter((x): x is SDKResultMessage => x.type === "result");
    expect(results.at(-1)?.subtype === "success" && results.at(-1)).toMatchObject({
      result: "Answer after compaction.",
    });
  });

  it("emulates auto mode's server-side classifier (safeguard_results)", async () => {
    const m1 = marker();
    model.script(m1, [
      { toolUse: { name: "Bash", input: { command: "echo allowed", description: "echo" } } },
      { text: "ok" },
    ]);
    const r1 = await run(claudeEnv(), `${m1} auto allow`, { permissionMode: "auto" });
    success(r1);
    expect(toolResultText(lastToolResult(model.turnRequests(m1)[1])[0])).toBe("allowed");
    expect(model.turnRequests(m1)[0]?.body?.safeguards).toBeDefined();

    const m2 = marker();
    model.script(m2, [
      { toolUse: { name: "Bash", input: { command: "echo blocked", description: "echo" } }, safeguard: "flagged" },
      { text: "ok" },
    ]);
    const r2 = await run(claudeEnv(), `${m2} auto block`, { permissionMode: "auto" });
    success(r2);
    const [tr] = lastToolResult(model.turnRequests(m2)[1]);
    expect(tr?.is_error).toBe(true);
    expect(toolResultText(tr)).toContain("denied by the Claude Code auto mode classifier");
    expect(r2.messages.some((x) => x.type === "system" && x.subtype === "permission_denied")).toBe(true);
  });
});

describe("fake model server over plain HTTP", () => {
  it("answers hello, count_tokens, non-streamed messages, errors and junk", async () => {
    expect((await fetch(`${model.url}/api/hello`, { method: "HEAD" })).status).toBe(200);
    const ct = await fetch(`${model.url}/v1/messages/count_tokens`, {
      method: "POST",
      body: JSON.stringify({ messages: [{ role: "user", content: "hello there" }] }),
    });
    expect(((await ct.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);

    const m = marker();
    model.script(m, [
      {
        text: "plain",
        toolUse: { name: "Read", input: { file_path: "/x" } },
        usage: { input_tokens: 7, output_tokens: 3 },
      },
      { error: { status: 429, headers: { "retry-after": "1" } } },
    ]);
    const post = (body: unknown) =>
      fetch(`${model.url}/v1/messages?beta=true`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const body = {
      model: "claude-test",
      max_tokens: 100,
      tools: [{ name: "Read" }],
      messages: [{ role: "user", content: `${m} hi` }],
    };
    const msg: unknown = await (await post(body)).json();
    expect(msg).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-test",
      stop_reason: "tool_use",
      usage: { input_tokens: 7, output_tokens: 3 },
      content: [
        { type: "text", text: "plain" },
        { type: "tool_use", name: "Read", input: { file_path: "/x" } },
      ],
    });
    const err = await post(body);
    expect(err.status).toBe(429);
    expect(err.headers.get("retry-after")).toBe("1");
    expect(await err.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    // Script exhausted: default reply.
    expect(await (await post(body)).json()).toMatchObject({
      content: [{ type: "text", text: "OK." }],
      stop_reason: "end_turn",
    });

    const junk = await fetch(`${model.url}/v1/messages`, { method: "POST", body: "{not json" });
    expect(junk.status).toBe(200);
    expect((await fetch(`${model.url}/nowhere`)).status).toBe(404);
    expect(model.requests.find((x) => x.rawBody === "{not json")?.kind).toBe("other");
  });
});
