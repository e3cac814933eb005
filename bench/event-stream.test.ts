import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EventStream } from "./event-stream";

const open: Array<() => void> = [];
afterEach(() => {
  for (const close of open.splice(0)) close();
});

/** A server with one event stream; `send` writes to it, `end` closes it. */
async function streamServer(status = 200) {
  let res: ServerResponse | undefined;
  let onConnect = () => {};
  const connected = new Promise<void>((resolve) => {
    onConnect = resolve;
  });
  const server = createServer((_req, r) => {
    res = r;
    onConnect();
    r.writeHead(status, { "content-type": status === 200 ? "text/event-stream" : "application/json" });
    if (status === 200) r.flushHeaders();
    else r.end('{"error":"no"}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  open.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return {
    url,
    connected,
    send: (seq: number | undefined, event: string, data: unknown) =>
      res?.write(`${seq === undefined ? "" : `id: ${seq}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    raw: (latin1: string) => res?.write(Buffer.from(latin1, "latin1")),
    end: () => res?.end(),
  };
}

describe("bench event stream reader", () => {
  it("finds events after a sequence, already received or still to come, split across chunks", async () => {
    const s = await streamServer();
    const stream = new EventStream(s.url);
    open.push(() => stream.close());
    await s.connected;
    s.send(1, "a", { n: 1 });
    // One event in two writes, a multi-byte character cut between them.
    const frame = Buffer.from(`id: 2\nevent: b\ndata: ${JSON.stringify({ n: 2, s: "é" })}\n\n`);
    const cut = frame.indexOf(Buffer.from("é")) + 1;
    s.raw(frame.subarray(0, cut).toString("latin1"));
    const b = stream.after(0, (e) => e.event === "b", "b");
    await new Promise((r) => setTimeout(r, 20));
    s.raw(frame.subarray(cut).toString("latin1"));
    expect((await b).data).toEqual({ n: 2, s: "é" });
    expect(stream.lastSeq).toBe(2);
    // Only events above the sequence count, even when an older one matches.
    const later = stream.after(2, (e) => e.event === "a", "later a");
    s.send(undefined, "a", { unnumbered: true });
    s.send(3, "a", { n: 3 });
    expect((await later).seq).toBe(3);
    expect(stream.lastSeq).toBe(3);
  });

  it("fails a wait when the stream ends or answers an error, instead of waiting out the timeout", async () => {
    const s = await streamServer();
    const stream = new EventStream(s.url);
    open.push(() => stream.close());
    await s.connected;
    const waiting = stream.after(0, () => true, "anything", 60_000);
    s.end();
    await expect(waiting).rejects.toThrow(/anything: the event stream ended/);

    const refused = await streamServer(401);
    const denied = new EventStream(refused.url);
    open.push(() => denied.close());
    await expect(denied.after(0, () => true, "denied", 60_000)).rejects.toThrow(/HTTP 401/);
  });

  it("times out a wait that nothing answers", async () => {
    const s = await streamServer();
    const stream = new EventStream(s.url);
    open.push(() => stream.close());
    await expect(stream.after(0, () => true, "silence", 50)).rejects.toThrow(/timed out waiting for silence/);
  });
});
