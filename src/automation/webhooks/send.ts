import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { parseWebhookUrl, resolveWebhookHost } from '../../commands/webhook-url.ts';

/** Response bodies are read up to this many bytes and stored truncated. */
export const RESPONSE_BODY_LIMIT = 4096;
/** A receiver has this long, from connecting to the last byte of its answer, before the attempt is cut. */
export const SEND_TIMEOUT_MS = 10_000;

/** What one POST to an endpoint gave: the status (none if no answer), how long it took, what it said. */
export interface SendResult {
  readonly status: number | null;
  readonly durationMs: number;
  readonly body: string;
  readonly error?: string;
}

/**
 * POSTs `body` to `url` once. The host is resolved and checked first (see {@link resolveWebhookHost}) and
 * the socket connects to that very address (the request's `lookup` answers with it), so a name cannot
 * resolve to a public address for the check and a private one for the connection. Redirects are not
 * followed (a 3xx is an answer like any other non-2xx). The whole exchange is cut at `timeoutMs`, so a
 * receiver trickling its answer cannot hold a worker. Never throws for the receiver's behaviour.
 */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { allowPrivate: boolean; signal?: AbortSignal; timeoutMs?: number },
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let target: URL;
  let resolved: { address: string; family: 4 | 6 };
  try {
    target = parseWebhookUrl(url);
    resolved = await resolveWebhookHost(target, options.allowPrivate);
  } catch (error) {
    return { status: null, durationMs: elapsed(), body: '', error: (error as Error).message };
  }
  const pinned: LookupFunction = (_host, lookupOptions, callback) => {
    if ((lookupOptions as { all?: boolean }).all) callback(null, [resolved]);
    else callback(null, resolved.address, resolved.family);
  };
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, durationMs: elapsed() });
    };
    const request = client.request(target, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'CallSnare-Webhooks/1',
      },
      lookup: pinned,
      agent: false,
    });
    const timer = setTimeout(() => {
      request.destroy(new Error(`no complete answer within ${options.timeoutMs ?? SEND_TIMEOUT_MS} ms`));
    }, options.timeoutMs ?? SEND_TIMEOUT_MS);
    const onAbort = () => request.destroy(new Error('aborted'));
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) => finish({ status: null, body: '', error: error.message }));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < RESPONSE_BODY_LIMIT) chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - size));
        size += chunk.length;
      });
      response.on('end', () => finish({ status: response.statusCode ?? null, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => finish({ status: null, body: Buffer.concat(chunks).toString('utf8'), error: error.message }));
    });
    request.end(body);
  });
}
