// The floor for any server in Aegis's place: a relay with nothing but the hops Aegis's design has
// (an HTTP request in, the prompt onto a streaming-input query(), its messages out as SSE, and, when
// the model gateway is on, Claude Code's model requests passed through a plain proxy), and no store,
// audit, policy or metering. Measured beside Aegis, it separates Aegis's own cost per turn from what
// those hops and a third busy process cost on this machine.
import { randomUUID } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
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
}
