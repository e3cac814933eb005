import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, csvField, toCsv, toNdjson } from "./export";
import type { VerifyFailureReason } from "./schema";
import { checkpointsFor, makeChain, memorySigner } from "./testing";
import { verifyNdjson } from "./verify-ndjson";

const collect = async (lines: AsyncIterable<string>) => {
  let out = "";
  for await (const line of lines) out += line;
  return out;
};

describe("csvField (RFC 4180)", () => {
  it.each<[string, string | number | null, string]>([
    ["plain text", "session.create", "session.create"],
    ["null", null, ""],
    ["empty string", "", ""],
    ["number", 42, "42"],
    ["comma", "a,b", '"a,b"'],
    ["quote", 'say "hi"', '"say ""hi"""'],
    ["only a quote", '"', '""""'],
    ["LF", "a\nb", '"a\nb"'],
    ["CRLF", "a\r\nb", '"a\r\nb"'],
    ["leading and trailing spaces kept", " a ", " a "],
    ["unicode", "é😀", "é😀"],
    ["formula =", "=SUM(A1)", "'=SUM(A1)"],
    ["formula +", "+1", "'+1"],
    ["formula -", "-bash: oops", "'-bash: oops"],
    ["formula @", "@cmd", "'@cmd"],
    ["formula with comma", '=HYPERLINK("x","y")', '"\'=HYPERLINK(""x"",""y"")"'],
    ["leading tab", "\tx", "'\tx"],
  ])("%s", (_name, value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it("can leave formulas alone", () => {
    expect(csvField("=1+1", { escapeFormulas: false })).toBe("=1+1");
  });
});

describe("toCsv", () => {
  it("writes a header and one CRLF row per record with params as JSON", async () => {
    const [a, b] = makeChain(5).slice(3);
    const text = await collect(toCsv([a!, b!]));
    const lines = text.split("\r\n");
    expect(lines[0]).toBe(CSV_COLUMNS.join(","));
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe("");
    expect(lines[1]).toBe(
      [
        4,
        a!.id,
        a!.time,
        "key_1",
        "operator",
        "acme",
        "127.0.0.1",
        "session.kill",
        "session",
        "ses_4",
        `"${JSON.stringify(a!.params).replaceAll('"', '""')}"`,
        "ok",
        "",
        a!.prevHash,
        a!.hash,
      ].join(","),
    );
    expect(lines[2]).toContain(",error,boom 5,");
  });
});

const ZERO_SIG = `"signature":"${Buffer.alloc(64).toString("base64")}"`;

describe("NDJSON export", () => {
  const signer = memorySigner();
  const chain = makeChain(12);
  const checkpoints = checkpointsFor(chain, signer, 5);

  it("writes JCS record lines with checkpoint lines right after the record they name", async () => {
    const lines = (await collect(toNdjson(chain, checkpoints))).split("\n");
    expect(lines).toHaveLength(12 + 2 + 1);
    expect(JSON.parse(lines[0]!)).toEqual(chain[0]);
    expect(JSON.parse(lines[5]!)).toEqual({ type: "checkpoint", ...checkpoints[0] });
    expect(JSON.parse(lines[11]!)).toEqual({ type: "checkpoint", ...checkpoints[1] });
    expect(lines[0]!.startsWith('{"action":')).toBe(true);
  });

  it("round-trips through verifyNdjson from a byte stream split anywhere", async () => {
    const text = await collect(toNdjson(chain, checkpoints));
    const bytes = Buffer.from(text);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const result = await verifyNdjson(Readable.from(chunks), signer.publicKeyPem);
    expect(result).toMatchObject({ ok: true, count: 12, lastSeq: 12, checkpointsVerified: 2, anchoredSeq: 10 });
  });

  it("accepts CRLF line ends and blank lines", async () => {
    const text = (await collect(toNdjson(chain, checkpoints))).replaceAll("\n", "\r\n\r\n");
    expect(await verifyNdjson([text], signer.publicKeyPem)).toMatchObject({ ok: true, count: 12 });
  });

  const lineCases: [string, (lines: string[]) => string[], VerifyFailureReason, number][] = [
    ["a record line edited", (ls) => ls.map((l) => l.replace('"ses_3"', '"ses_9"')), "hash_mismatch", 3],
    ["a record line removed", (ls) => ls.filter((_, i) => i !== 2), "seq_gap", 3],
    ["two record lines swapped", (ls) => swap(ls, 2, 3), "seq_order", 3],
    ["the tail cut after record 7", (ls) => [...ls.slice(0, 8), ls[11]!], "truncated", 8],
    ["a line that is not JSON", (ls) => [...ls.slice(0, 3), "{oops", ...ls.slice(3)], "malformed", 4],
    ["a JSON array line", (ls) => [...ls.slice(0, 3), "[]", ...ls.slice(3)], "malformed", 4],
    ["an unknown line type", (ls) => [...ls.slice(0, 3), '{"type":"note"}', ...ls.slice(3)], "malformed", 4],
    ["a checkpoint line moved later", (ls) => swap(ls, 5, 6), "malformed", 7],
    [
      "a checkpoint signature replaced",
      (ls) => ls.map((l, i) => (i === 5 ? l.replace(/"signature":"[^"]+"/, ZERO_SIG) : l)),
      "checkpoint_signature",
      1,
    ],
  ];

  it.each(lineCases)("detects %s", async (_name, tamper, reason, firstBadSeq) => {
    const lines = (await collect(toNdjson(chain, checkpoints))).split("\n").filter(Boolean);
    const text = `${tamper(lines).join("\n")}\n`;
    expect(await verifyNdjson([text], signer.publicKeyPem)).toMatchObject({ ok: false, reason, firstBadSeq });
  });

  it("catches a cleanly truncated file with a checkpoint kept elsewhere", async () => {
    const text = await collect(toNdjson(chain.slice(0, 9), checkpoints.slice(0, 1)));
    expect(await verifyNdjson([text], signer.publicKeyPem)).toMatchObject({ ok: true, lastSeq: 9 });
    expect(await verifyNdjson([text], signer.publicKeyPem, [checkpoints[1]!])).toMatchObject({
      ok: false,
      reason: "truncated",
      firstBadSeq: 10,
    });
  });

  it("rejects an over-long line without buffering it", async () => {
    const huge = `{"x":"${"a".repeat(2000)}`;
    const result = await verifyNdjson([huge, huge], signer.publicKeyPem, [], { maxLineLength: 1000 });
    expect(result).toMatchObject({ ok: false, reason: "malformed", firstBadSeq: 1 });
  });
});

function swap<T>(items: T[], a: number, b: number): T[] {
  const out = [...items];
  [out[a], out[b]] = [out[b]!, out[a]!];
  return out;
}
