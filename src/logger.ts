import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** Paths never written to logs. */
const REDACT = ['req.headers.authorization', 'headers.authorization', '*.token', 'token', '*.password', 'password', '*.secret'];

/** A secret in a URL (invite link, or a token pasted into a path or query): its prefix stays, the rest goes. */
const SECRET_IN_URL = /\b(csi_|cs_live_|cs_member_)[A-Za-z0-9_-]+/g;

/** The URL as logs may show it: secrets in it are redacted, whatever the path or route (a trailing slash included). */
export function loggableUrl(url: string): string {
  return url.replace(SECRET_IN_URL, '$1[redacted]');
}

/** The request as fastify logs it, with the URL passed through {@link loggableUrl}. */
function req(request: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: request.method,
    url: request.url === undefined ? undefined : loggableUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** How log lines are written: pino's JSON objects, or human lines (pino-pretty). */
export type LogFormat = 'json' | 'pretty';

/** `LOG_FORMAT` when set; otherwise human lines on a terminal and JSON when piped or redirected (to a collector). */
export function chooseLogFormat(configured: LogFormat | undefined, isTTY: boolean | undefined): LogFormat {
  return configured ?? (isTTY ? 'pretty' : 'json');
}

/**
 * A pino logger to stdout (`serve`) or stderr (CLI commands, whose stdout is their output), as JSON or as human
 * lines; redaction applies to both, since it runs before either is written.
 */
export function createLogger(level: string, destination: 1 | 2 = 1, format: LogFormat = 'json'): Logger {
  const sync = destination === 2;
  const stream: DestinationStream =
    format === 'pretty'
      ? pretty({ destination, sync, colorize: pretty.isColorSupported, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ dest: destination, sync });
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, serializers: { req } }, stream);
}
