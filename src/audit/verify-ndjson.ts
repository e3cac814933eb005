// Offline verification of an NDJSON export (format described in export.ts), streamed line by line.
import { CHECKPOINT_LINE_TYPE } from "./export";
import type { SignedCheckpoint, VerifyResult } from "./schema";
import { ChainVerifier, type VerifyOptions } from "./verify";

type Chunks = Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

/** A line longer than this is rejected rather than buffered without bound. */
export const MAX_NDJSON_LINE = 16 * 1024 * 1024;

class LineTooLong extends Error {}

/** Splits a text or byte stream into lines without the "\n" (and a trailing "\r"). */
async function* splitLines(source: Chunks, maxLine: number): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of source) {
    buffer += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = buffer.indexOf("\n"); nl !== -1; nl = buffer.indexOf("\n", start)) {
      yield buffer.slice(start, nl).replace(/\r$/, "");
      start = nl + 1;
    }
    buffer = buffer.slice(start);
    if (buffer.length > maxLine) throw new LineTooLong();
  }
  buffer += decoder.decode();
  if (buffer.length > 0) yield buffer.replace(/\r$/, "");
}

export interface VerifyNdjsonOptions extends Pick<VerifyOptions, "maxCheckpointGap"> {
  maxLineLength?: number;
}

/**
 * Re-checks an NDJSON export: every record's hash and link, and every checkpoint in the file or
 * in `checkpoints` (kept elsewhere, e.g. the latest one from the live server) against
 * `publicKeyPem`. `readable` is anything (async-)iterable over text or bytes: a file stream, a
 * fetch body, process.stdin, the lines of exportNdjson.
 */
export async function verifyNdjson(
  readable: Chunks,
  publicKeyPem: string | readonly string[],
  checkpoints: Iterable<SignedCheckpoint> = [],
  options: VerifyNdjsonOptions = {},
): Promise<VerifyResult> {
  const verifier = new ChainVerifier({ publicKeyPem, maxCheckpointGap: options.maxCheckpointGap });
  for (const cp of checkpoints) {
    if (!verifier.checkpoint(cp)) return verifier.finish();
  }
  let lineNo = 0;
  try {
    for await (const line of splitLines(readable, options.maxLineLength ?? MAX_NDJSON_LINE)) {
      lineNo++;
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        verifier.reject("malformed", `line ${lineNo} is not JSON`);
        break;
      }
      if (!feed(verifier, value, lineNo)) break;
    }
  } catch (err) {
    if (!(err instanceof LineTooLong)) throw err;
    verifier.reject("malformed", `line ${lineNo + 1} is longer than the limit`);
  }
  return verifier.finish();
}

function feed(verifier: ChainVerifier, value: unknown, lineNo: number): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return verifier.reject("malformed", `line ${lineNo} is not a JSON object`);
  }
  if (!("type" in value)) return verifier.record(value);
  const { type, ...rest } = value as { type: unknown };
  if (type === CHECKPOINT_LINE_TYPE) return verifier.checkpoint(rest);
  return verifier.reject("malformed", `line ${lineNo} has unknown type ${JSON.stringify(type)}`);
}
