import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { v5 as uuidv5 } from 'uuid';

/** Namespace of ids derived from (org, Idempotency-Key). */
const NAMESPACE = '6f0b6c1e-3a57-4c44-9d55-0c2a4f1d9e11';

/** The aggregate id a keyed create uses, so every retry lands on the same stream. */
export function idFromKey(orgId: string, key: string): string {
  return uuidv5(`${orgId}\n${key}`, NAMESPACE);
}

/** Deterministic event ids for the events of a keyed write. */
export function eventIdsFromKey(orgId: string, streamId: string, key: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => uuidv5(`${orgId}\n${streamId}\n${key}\n${i}`, NAMESPACE));
}

/** Fingerprint of a request: method, path and canonical JSON body. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method.toUpperCase()} ${path}\n${stringify(body ?? null)}`).digest('hex');
}
