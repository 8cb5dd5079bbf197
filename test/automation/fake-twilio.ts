import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const ACCOUNT_SID = `AC${randomBytes(16).toString('hex')}`;
export const AUTH_TOKEN = randomBytes(16).toString('hex');

/** A received request, as Twilio would see it. */
export interface Received {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  form: Record<string, string>;
}

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

/**
 * A local stand-in for api.twilio.com (node:http on 127.0.0.1) speaking the Messages wire format: 201 with
 * the message resource, or Twilio's error document. Replies are taken from `reply(...)` in order, then
 * the `always(...)` one; `delay(ms)` holds each answer (Infinity: never answers, until reset or close).
 */
export function fakeTwilio() {
  const received: Received[] = [];
  let script: Reply[] = [];
  let fallback: Reply | 'created' = 'created';
  let delayMs = 0;
  let waiters: (() => void)[] = [];
  const held = new Set<() => void>();
  const created = (form: Record<string, string>): Reply => {
    const sid = `SM${randomBytes(16).toString('hex')}`;
    return {
      status: 201,
      body: {
        account_sid: ACCOUNT_SID,
        api_version: '2010-04-01',
        body: form.Body,
        date_created: new Date().toUTCString(),
        date_sent: null,
        date_updated: new Date().toUTCString(),
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: form.From,
        messaging_service_sid: null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: 'USD',
        sid,
        status: 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sid}/Media.json` },
        to: form.To,
        uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${sid}.json`,
      },
    };
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(raw));
      received.push({
        method: req.method!,
        path: req.url!,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        form,
      });
      for (const wake of waiters) wake();
      waiters = [];
      const next = script.shift() ?? fallback;
      const reply = next === 'created' ? created(form) : next;
      const answer = () => {
        held.delete(answer);
        if (res.destroyed) return;
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      };
      held.add(answer);
      if (delayMs === 0) answer();
      else if (Number.isFinite(delayMs)) setTimeout(answer, delayMs);
    });
  });
  return {
    received,
    server,
    reply(...replies: Reply[]) {
      script = replies;
    },
    always(reply: Reply | 'created') {
      fallback = reply;
    },
    delay(ms: number) {
      delayMs = ms;
    },
    /** Resolves once `n` requests in all have arrived. */
    requests(n: number): Promise<void> {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve) => {
        const check = () => (received.length >= n ? resolve() : waiters.push(check));
        waiters.push(check);
      });
    },
    reset() {
      received.length = 0;
      script = [];
      fallback = 'created';
      delayMs = 0;
    },
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
