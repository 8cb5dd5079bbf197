import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { v5 as uuidv5 } from 'uuid';

/** Namespace of ids derived from (org, Idempotency-Key). */
const NAMESPACE = '6f0b6c1e-3a57-4c44-9d55-0c2a4f1d9e11';

/** The aggregate id a keyed create uses, so every retry lands on the same stream. */
export function idFromKey(orgId: string, key: string): string {
  return uuidv5(`${orgId}\n${key}`, NAMESPACE);
}

/** An Idempotency-Key and the fingerprint of the request that carries it. */
export interface IdempotencyInput {
  readonly key: string;
  readonly requestHash: string;
}

/**
 * Deterministic event ids for the events of a keyed write. They depend on the request, so only the
 * same request retried collapses into a duplicate append; a different one under the same key conflicts.
 */
export function eventIdsFromKey(orgId: string, streamId: string, idempotency: IdempotencyInput, count: number): string[] {
  const { key, requestHash } = idempotency;
  return Array.from({ length: count }, (_, i) => uuidv5(`${orgId}\n${streamId}\n${key}\n${requestHash}\n${i}`, NAMESPACE));
}

/** Fingerprint of a request: method, path and canonical JSON body. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method.toUpperCase()} ${path}\n${stringify(body ?? null)}`).digest('hex');
}
