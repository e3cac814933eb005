// `ag audit verify FILE --public-key KEY`: checks an NDJSON export offline, without the server.
import { createPublicKey } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { readAnchors, verifyNdjson } from "../audit";

export async function auditVerifyCommand(
  file: string,
  flags: { publicKey: string; checkpoints?: string },
): Promise<void> {
  for (const f of [file, flags.publicKey, flags.checkpoints].filter((x): x is string => x !== undefined)) {
    if (!existsSync(f)) throw new Error(`no such file: ${f}`);
  }
  const publicKeyPem = readFileSync(flags.publicKey, "utf8");
  try {
    createPublicKey(publicKeyPem);
  } catch (err) {
    throw new Error(
      `${flags.publicKey} is not a PEM public key (${(err as Error).message}); give the server's audit-signing public key`,
    );
  }
  const extra = flags.checkpoints ? await readAnchors(flags.checkpoints) : undefined;
  const result = await verifyNdjson(createReadStream(file), publicKeyPem, extra);
  if (result.ok && result.count === 0) {
    // Verifying nothing vouches for nothing: an export cut down to nothing must not pass.
    process.stdout.write(`NOTHING VERIFIED: ${file} holds no audit records\n`);
    process.exitCode = 1;
    return;
  }
  if (result.ok) {
    process.stdout.write(
      `OK: ${result.count} records, last seq ${result.lastSeq}, ${result.checkpointsVerified} signed checkpoints verified\n`,
    );
    return;
  }
  process.stdout.write(`TAMPERED: first bad seq ${result.firstBadSeq} (${result.reason}): ${result.message}\n`);
  process.exitCode = 1;
}
