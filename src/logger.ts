import pino, { type Logger } from 'pino';

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

/** A pino JSON logger to stdout (`serve`) or stderr (CLI commands, whose stdout is their output). */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino(
    { level, redact: { paths: REDACT, censor: '[redacted]' }, serializers: { req } },
    pino.destination({ dest: destination, sync: destination === 2 }),
  );
}
