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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: "[redacted]" } }, destination);
}
