import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema.ts';
import { OutboundLedger } from './ledger.ts';
import { LeaseLostError, type Messaging, PermanentMessagingError, TransientMessagingError } from './port.ts';

/** Settings of the Twilio Messages REST client. */
export interface TwilioClientOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** `https://api.twilio.com` (config TWILIO_API_BASE_URL; tests point it at a local server). */
  readonly baseUrl: string;
  /** Where Twilio reports delivery: `PUBLIC_BASE_URL/webhooks/twilio/message-status`. */
  readonly statusCallbackUrl?: string;
  /** Attempts per send within one job run for 429/5xx/network errors (default 3). */
  readonly attempts?: number;
  /** First backoff between those attempts, doubled each time (default 500 ms); Retry-After wins if given. */
  readonly backoffMs?: number;
  /** Cap on any single wait, including Retry-After (default 5 s: longer waits are the job queue's business). */
  readonly maxDelayMs?: number;
  /** Per-request timeout (default 15 s). */
  readonly timeoutMs?: number;
}

/** What Twilio answered for an accepted message. */
export interface TwilioMessage {
  readonly sid: string;
  readonly status: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Minimal client of Twilio's Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
 * form-encoded `To`, `From`, `Body`, `StatusCallback`, HTTP basic auth `AccountSid:AuthToken`.
 * 429 and 5xx (and network errors) are retried with backoff, then surface as
 * {@link TransientMessagingError} (the job is retried later); any other 4xx is a
 * {@link PermanentMessagingError} carrying Twilio's error code.
 */
export class TwilioClient {
  readonly #url: string;
  readonly #auth: string;

  constructor(readonly options: TwilioClientOptions) {
    this.#url = `${options.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
    this.#auth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  }

  async send(input: { to: string; from: string; body: string }, signal?: AbortSignal): Promise<TwilioMessage> {
    const form = new URLSearchParams({ To: input.to, From: input.from, Body: input.body });
    if (this.options.statusCallbackUrl) form.set('StatusCallback', this.options.statusCallbackUrl);
    const attempts = this.options.attempts ?? 3;
    let backoff = this.options.backoffMs ?? 500;
    const maxDelay = this.options.maxDelayMs ?? 5000;
    for (let attempt = 1; ; attempt++) {
      let error: TransientMessagingError;
      try {
        const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 15_000);
        const response = await fetch(this.#url, {
          method: 'POST',
          headers: { authorization: this.#auth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form.toString(),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const text = await response.text();
        const json = parseJson(text);
        if (response.ok) {
          const sid = typeof json?.sid === 'string' ? json.sid : undefined;
          if (!sid) throw new TransientMessagingError(`Twilio answered ${response.status} without a message sid`, response.status);
          return { sid, status: typeof json?.status === 'string' ? json.status : 'queued' };
        }
        const code = typeof json?.code === 'string' || typeof json?.code === 'number' ? String(json.code) : undefined;
        const detail = `Twilio ${response.status}${code !== undefined ? ` (code ${code})` : ''}: ${typeof json?.message === 'string' ? json.message : text.slice(0, 200)}`;
        if (response.status !== 429 && response.status < 500) {
          throw new PermanentMessagingError(detail, response.status, code);
        }
        error = new TransientMessagingError(detail, response.status, retryAfterMs(response.headers.get('retry-after')));
      } catch (caught) {
        if (caught instanceof PermanentMessagingError) throw caught;
        if (signal?.aborted) throw caught;
        error =
          caught instanceof TransientMessagingError
            ? caught
            : new TransientMessagingError(
                `Twilio request failed: ${(caught as Error).message}`,
                undefined,
                undefined,
                neverConnected(caught),
              );
      }
      if (attempt >= attempts) throw error;
      await sleep(Math.min(error.retryAfterMs ?? backoff, maxDelay), signal);
      backoff *= 2;
    }
  }
}

/** A fetch error from which Twilio cannot have received the request (no connection was made). */
function neverConnected(error: unknown): boolean {
  const code = ((error as { cause?: { code?: string } }).cause ?? {}).code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Twilio adapter. Records the intent in `outbound_messages` first, fenced by the job's lease (see
 * {@link OutboundLedger}): a key already sent returns that message, a key whose earlier send has an
 * unknown outcome is not sent again. Then it sends and records the SID, so operators see every text in
 * one place and delivery reports (message-status webhook) find the message. When Twilio certainly did
 * not take the text (it answered an error, or no connection was made) the intent is withdrawn for a retry.
 */
export function twilioMessaging(deps: { db: Kysely<Database>; clock: () => Date; log?: Logger; client: TwilioClient }): Messaging {
  const ledger = new OutboundLedger(deps.db);
  return {
    provider: 'twilio',
    async send(message, options = {}) {
      if (!message.from) throw new PermanentMessagingError('the org has no business phone number to send from');
      const claimed = await ledger.claim(message, 'twilio', options.lease, undefined, options.guard);
      if ('existing' in claimed) return claimed.existing;
      let sent: TwilioMessage;
      try {
        sent = await deps.client.send({ to: message.to, from: message.from, body: claimed.body }, options.signal);
      } catch (error) {
        const notSent =
          (error instanceof PermanentMessagingError && error.status !== undefined) ||
          (error instanceof TransientMessagingError && error.notSent);
        // Aborted at shutdown (the worker still holds the job): released for a retry, as before. Aborted by
        // the fence (the job may be someone else's now): the intent stays, the outcome is unknown.
        const shutdown = options.signal?.aborted && !(options.signal.reason instanceof LeaseLostError);
        if (notSent || shutdown) await ledger.abandon(message.key);
        throw error;
      }
      deps.log?.info(
        { messageId: sent.sid, status: sent.status, kind: message.kind, to: message.to, key: message.key, orgId: message.orgId },
        'text sent through Twilio',
      );
      return ledger.complete(message.key, sent.sid, deps.clock().toISOString(), claimed.body);
    },
  };
}
