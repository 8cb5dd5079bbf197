import pino, { type Logger } from 'pino';

/** Paths never written to logs. */
const REDACT = ['req.headers.authorization', 'headers.authorization', '*.token', 'token', '*.password', 'password', '*.secret'];

/** A pino JSON logger to stdout (`serve`) or stderr (CLI commands, whose stdout is their output). */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' } }, pino.destination({ dest: destination, sync: destination === 2 }));
}
