import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** One request a receiver got. */
export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly json: { type: string; timestamp: string; data: Record<string, unknown> };
}

/** What the receiver does with its n-th request (0-based): answer a status, or never answer. */
export type Answer = number | 'hang' | { status: number; body: string } | 'trickle';

/**
 * A real local HTTP server standing in for an integration's webhook endpoint: records every request and
 * answers as `answer` says (by default 200). Closed with the test.
 */
export async function webhookReceiver(t: Teardown, answer: (n: number, request: ReceivedWebhook) => Answer = () => 200) {
  const received: ReceivedWebhook[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const request: ReceivedWebhook = { path: req.url ?? '/', headers, body, json: JSON.parse(body) as ReceivedWebhook['json'] };
      const what = answer(received.length, request);
      received.push(request);
      if (what === 'hang') {
        hanging.add(res);
        return;
      }
      if (what === 'trickle') {
        hanging.add(res);
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('.'), 500);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (typeof what === 'number') res.writeHead(what).end(`answered ${what}`);
      else res.writeHead(what.status).end(what.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received };
}

/** Polls `check` until it holds (or fails after `timeoutMs`). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
