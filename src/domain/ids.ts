/**
 * Every id CallSnare derives instead of minting (UUIDv5 of a namespace and a newline-joined name). Every
 * process derives the same id from the same inputs, so a retry or a concurrent duplicate lands on the same
 * stream or collapses into a duplicate append. Stored events and idempotency replays depend on these
 * values: never change a namespace or a name (test/domain/ids.unit.test.ts pins them).
 *
 * | id                                        | function               | namespace   | name                                     |
 * | ----------------------------------------- | ---------------------- | ----------- | ---------------------------------------- |
 * | booking of a keyed create                 | `idFromKey`            | idempotency | org, Idempotency-Key                     |
 * | events of a keyed write                   | `eventIdsFromKey`      | idempotency | org, stream, key, request hash, index    |
 * | a caller's n-th lead                      | `leadIdFor`            | lead        | org, caller E.164, generation            |
 * | events of a keyed lead write              | `leadEventIds`         | lead        | org, dedupe key, index                   |
 * | text a member asks for on a lead          | `requestedMessageId`   | lead        | org, `reply`, lead, clientMessageId, 0   |
 * | evidence event of an automation job       | `evidenceEventId`      | evidence    | job key                                  |
 * | events of one Stripe event on an org      | `stripeEventIds`       | stripe      | org, Stripe event id, index              |
 * | message id of the log messaging adapter   | `logMessageId`         | log message | job key (`LM` + 32 hex digits)           |
 * | outbound webhook message (`webhook-id`)   | `webhookMessageId`     | webhook     | endpoint, event id (`msg_` + 32 hex)     |
 * | audit event of a webhook endpoint change  | `webhookEndpointEventId` | webhook   | endpoint, change, index                  |
 * | consent stream of a phone in an org       | `consentIdFor`         | consent     | org, phone E.164                         |
 * | events of one keyed consent change        | `consentEventIds`      | consent     | org, phone, dedupe key, index            |
 *
 * The request fingerprint keyed writes are checked against is {@link requestHash}. Not here, because they
 * are not ids: the event hash chain (`eventstore/hash.ts`), token digests (`identity/tokens.ts`), and the
 * EventStoreDB adapter's own claim stream names (`eventstore/esdb/mapping.ts`).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { v5 as uuidv5 } from 'uuid';

const NAMESPACES = {
  idempotency: '6f0b6c1e-3a57-4c44-9d55-0c2a4f1d9e11',
  lead: '0d7a3c52-8f4e-4b8e-a1c6-5e2f9b7d4c31',
  evidence: '3f1c9a4e-6b2d-4e8f-9a7c-1d5e0b8f2c64',
  stripe: '5b2e7f0a-3c9d-4e61-8a4f-1d6c2b9e7a53',
  logMessage: '8a2e4f61-0c3b-4d7a-b5e9-6f1d2c7a9b30',
  webhook: 'c4d1e7a2-5b3f-4a8e-9c61-2e7f0d9b3a58',
  consent: 'c4e1b7a2-5d3f-4a69-8e0b-2f7c9d1a6e48',
} as const;

const derive = (namespace: keyof typeof NAMESPACES, ...parts: (string | number)[]) => uuidv5(parts.join('\n'), NAMESPACES[namespace]);
const indexed = (count: number, id: (index: number) => string) => Array.from({ length: count }, (_, i) => id(i));

/** An Idempotency-Key and the fingerprint of the request that carries it. */
export interface IdempotencyInput {
  readonly key: string;
  readonly requestHash: string;
}

/** The aggregate id a keyed create uses, so every retry lands on the same stream. */
export function idFromKey(orgId: string, key: string): string {
  return derive('idempotency', orgId, key);
}

/**
 * Deterministic event ids for the events of a keyed write. They depend on the request, so only the
 * same request retried collapses into a duplicate append; a different one under the same key conflicts.
 */
export function eventIdsFromKey(orgId: string, streamId: string, idempotency: IdempotencyInput, count: number): string[] {
  return indexed(count, (i) => derive('idempotency', orgId, streamId, idempotency.key, idempotency.requestHash, i));
}

/** Fingerprint of a request: method, path and canonical JSON body. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n${stringify(body ?? null)}`)
    .digest('hex');
}

/**
 * The id of a caller's n-th lead in an org. Every writer derives the same id, so two concurrent first
 * contacts from one number race for one stream (`no_stream`) instead of creating two leads.
 */
export function leadIdFor(orgId: string, callerPhone: string, generation: number): string {
  return derive('lead', orgId, callerPhone, generation);
}

/** Deterministic ids for the events of one provider- or reactor-keyed lead write (a retry appends nothing new). */
export function leadEventIds(orgId: string, key: string, count: number): string[] {
  return indexed(count, (i) => derive('lead', orgId, key, i));
}

/**
 * The id of the text a member asks for with `clientMessageId` on a lead: every API process derives the
 * same one, so a repeated click (or two processes racing) names one message.
 */
export function requestedMessageId(orgId: string, leadId: string, clientMessageId: string): string {
  return leadEventIds(orgId, `reply\n${leadId}\n${clientMessageId}`, 1)[0]!;
}

/** The id of the one evidence event (sent, skipped or failed) a job key may ever record. */
export function evidenceEventId(jobKey: string): string {
  return derive('evidence', jobKey);
}

/** Ids of the events one Stripe event produces on an org's stream: a redelivery appends nothing new. */
export function stripeEventIds(orgId: string, stripeEventId: string, count: number): string[] {
  return indexed(count, (i) => derive('stripe', orgId, stripeEventId, i));
}

/** The provider message id the log messaging adapter reports for a job key (`LM` + 32 hex digits). */
export function logMessageId(jobKey: string): string {
  return `LM${derive('logMessage', jobKey).replace(/-/g, '')}`;
}

/** The `webhook-id` of one event sent to one endpoint: the same on every retry and replay. */
export function webhookMessageId(endpointId: string, eventId: string): string {
  return `msg_${derive('webhook', endpointId, eventId).replaceAll('-', '')}`;
}

/** The id of the org-stream event recording one change of an endpoint (`added`, `removed`, `disabled`, `rotated:<n>`). */
export function webhookEndpointEventId(endpointId: string, change: string): string {
  return derive('webhook', endpointId, change, 0);
}

/** The consent stream id of a phone in an org: every process derives the same one (one stream per contact). */
export function consentIdFor(orgId: string, phone: string): string {
  return derive('consent', orgId, phone);
}

/** Ids of the events of one keyed consent change (an inbound text's SID, a refused send's job key): a redelivery appends nothing. */
export function consentEventIds(orgId: string, phone: string, key: string, count: number): string[] {
  return indexed(count, (i) => derive('consent', orgId, phone, key, i));
}
