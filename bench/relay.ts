// The floor for any server in Aegis's place: a relay with nothing but the hops Aegis's design has
// (an HTTP request in, the prompt onto a streaming-input query(), its messages out as SSE, and, when
// the model gateway is on, Claude Code's model requests passed through a plain proxy), and no store,
// audit, policy or metering. Measured beside Aegis, it separates Aegis's own cost per turn from what
// those hops and a third busy process cost on this machine.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type Options, query, type SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import { Agent, request } from "undici";
import { AsyncQueue } from "../src/core/async-queue";

export interface Relay {
  url: string;
  /** Where Claude Code sends model requests: the proxy's address, or the model's own without one. */
  modelUrl: string;
  /** Starts a session; resolves once its Claude Code is ready. */
  open(options: Options): Promise<string>;
  close(): Promise<void>;
}

interface RelaySession {
  input: AsyncQueue<SDKUserMessage>;
  close(): void;
  streams: Set<ServerResponse>;
  seq: number;
}

const HOP_BY_HOP = new Set(["host", "connection", "keep-alive", "transfer-encoding"]);
const endToEnd = (headers: Record<string, string | string[] | undefined>) => {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
};

/** A pass-through HTTP proxy to `upstream`: the model gateway's hop with nothing else. */
async function startProxy(upstream: string) {
  const agent = new Agent({ keepAliveTimeout: 60_000 });
  const server = createServer((req, res) => {
    request(upstream + (req.url ?? "/"), {
      method: req.method as "POST",
      headers: endToEnd(req.headers),
      body: req.method === "POST" ? req : null,
      dispatcher: agent,
    }).then(
      (up) => {
        res.writeHead(up.statusCode, endToEnd(up.headers));
        up.body.pipe(res);
      },
      (err: Error) => res.writeHead(502).end(err.message),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await agent.close();
    },
  };
}

/** `proxyTo`: the model API's address, to pass model requests through a proxy of the relay's. */
export async function startRelay(modelUrl: string, proxyTo?: boolean): Promise<Relay> {
  const proxy = proxyTo ? await startProxy(modelUrl) : undefined;
  const sessions = new Map<string, RelaySession>();
  const server = createServer((req, res) => {
    if (req.method === "POST" && req.url === "/sessions") return openOverHttp(req, res);
    const m = /^\/sessions\/([^/]+)\/(messages|events)$/.exec(req.url ?? "");
    const s = m?.[1] ? sessions.get(m[1]) : undefined;
    if (!s) {
      res.writeHead(404).end();
      return;
    }
    if (m?.[2] === "events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      s.streams.add(res);
      res.on("close", () => s.streams.delete(res));
      return;
    }
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const { text } = JSON.parse(Buffer.concat(parts).toString("utf8")) as { text: string };
      s.input.push({ type: "user", message: { role: "user", content: text }, parent_tool_use_id: null });
      res.writeHead(202, { "content-type": "application/json" }).end('{"queued":false}');
    });
  });
  /** A session opened by a bench in another process: the options that survive JSON, tool calls allowed. */
  const openOverHttp = (req: IncomingMessage, res: ServerResponse) => {
    readJson(req)
      .then((options) =>
        relay.open({
          ...(options as Options),
          canUseTool: async (_t, input) => ({ behavior: "allow", updatedInput: input }),
        }),
      )
      .then(
        (id) => res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ id })),
        (err: Error) => res.writeHead(500).end(err.message),
      );
  };
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const relay: Relay = {
    url,
    modelUrl: proxy?.url ?? modelUrl,
    async open(options) {
      const id = randomUUID();
      const input = new AsyncQueue<SDKUserMessage>();
      const q = query({ prompt: input, options });
      const s: RelaySession = { input, close: () => q.close(), streams: new Set(), seq: 0 };
      sessions.set(id, s);
      void (async () => {
        for await (const msg of q) {
          // What a client needs of a turn: the text as it streams, and the finished message.
          let out: { event: string; data: unknown } | undefined;
          if (
            msg.type === "stream_event" &&
            msg.event.type === "content_block_delta" &&
            msg.event.delta.type === "text_delta"
          )
            out = { event: "message.delta", data: { data: { text: msg.event.delta.text } } };
          else if (msg.type === "assistant") {
            const text = msg.message.content.find((b) => b.type === "text");
            if (text?.type === "text") out = { event: "message.completed", data: { data: { text: text.text } } };
          } else if (msg.type === "result") out = { event: "turn.ended", data: { data: {} } };
          if (!out) continue;
          const frame = `id: ${++s.seq}\nevent: ${out.event}\ndata: ${JSON.stringify(out.data)}\n\n`;
          for (const res of s.streams) res.write(frame);
        }
      })().catch(() => {});
      await q.initializationResult();
      return id;
    },
    async close() {
      for (const s of sessions.values()) {
        s.input.close();
        s.close();
        for (const res of s.streams) res.end();
      }
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await proxy?.close();
    },
  };
  return relay;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("error", reject);
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString("utf8")));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/**
 * The relay in a process of its own, for a bench whose Aegis runs in its own (BENCH_SERVER=process):
 * then both pay the same hops between processes. Sessions open with POST /sessions.
 */
export async function startRelayProcess(modelUrl: string, proxyTo: boolean): Promise<Relay> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    env: { ...process.env, RELAY_MODEL_URL: modelUrl, RELAY_PROXY: proxyTo ? "1" : "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    void exited.then(() => reject(new Error(`the relay process exited before listening: ${out}`)));
  });
  const { url, modelUrl: relayModelUrl } = JSON.parse(line) as { url: string; modelUrl: string };
  return {
    url,
    modelUrl: relayModelUrl,
    async open(options) {
      const { cwd, env, pathToClaudeCodeExecutable, includePartialMessages, permissionMode, sessionId } = options;
      const res = await request(`${url}/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          cwd,
          env,
          pathToClaudeCodeExecutable,
          includePartialMessages,
          permissionMode,
          sessionId,
        }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`relay process: HTTP ${res.statusCode} ${text}`);
      return (JSON.parse(text) as { id: string }).id;
    },
    async close() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

// Run as a script: the relay process of startRelayProcess().
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const relay = await startRelay(String(process.env.RELAY_MODEL_URL), process.env.RELAY_PROXY === "1");
  process.stdout.write(`${JSON.stringify({ url: relay.url, modelUrl: relay.modelUrl })}\n`);
  process.once("SIGTERM", () => {
    void relay.close().finally(() => process.exit(0));
  });
}
