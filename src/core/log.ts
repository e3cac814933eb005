// Logger construction: pino with secret redaction applied to every module's child logger.
import pino, { type Logger } from "pino";

export type { Logger };

const REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers['x-aegis-hook-secret']",
  "*.apiKey",
  "*.token",
  "*.secret",
  "*.env.ANTHROPIC_API_KEY",
  "*.env.ANTHROPIC_AUTH_TOKEN",
  "*.env.CLAUDE_CODE_OAUTH_TOKEN",
];

/** Query values can carry tokens (`?sse_token=`, a mistaken `?api_key=`): log the names only. */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const names = new URLSearchParams(url.slice(q + 1)).keys();
  return `${url.slice(0, q)}?${[...names].map((n) => `${n}=[redacted]`).join("&")}`;
}

interface RequestLike {
  method?: string;
  url?: string;
  ip?: string;
  id?: string;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT, censor: "[redacted]" },
      serializers: {
        req: (req: RequestLike) => ({ id: req.id, method: req.method, url: redactUrl(req.url ?? ""), ip: req.ip }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}
