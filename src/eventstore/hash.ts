import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import type { EventMetadata } from '../domain/events/index.ts';

/** What an event's content digest covers: everything but the chain links themselves. */
export interface HashedContent {
  readonly streamId: string;
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Omit<EventMetadata, 'prevHash'> & { prevHash?: string; hash?: string };
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** sha256 of the event's canonical JSON (sorted keys), without `prevHash`/`hash`. */
export function contentDigest(event: HashedContent): string {
  const { prevHash: _prev, hash: _hash, ...metadata } = event.metadata;
  return sha256(stringify({ streamId: event.streamId, id: event.id, type: event.type, data: event.data, metadata }) as string);
}

/** The next link of a stream's chain. */
export function chainHash(prevHash: string, digest: string): string {
  return sha256(prevHash + digest);
}
