import { GENESIS_HASH } from '../domain/events/index.ts';
import { chainHash, contentDigest } from './hash.ts';
import type { RecordedEvent } from './port.ts';

/** The first event of a stream whose chain link does not hold, and why. */
export interface ChainBreak {
  readonly event: RecordedEvent;
  readonly reason: 'prev_hash_mismatch' | 'hash_mismatch' | 'revision_gap';
}

/** Recomputes a stream's hash chain (events in revision order); null when intact. */
export function verifyStreamChain(events: readonly RecordedEvent[]): ChainBreak | null {
  let prev = GENESIS_HASH;
  let expectedRevision = 0;
  for (const event of events) {
    if (event.revision !== expectedRevision) return { event, reason: 'revision_gap' };
    if (event.metadata.prevHash !== prev) return { event, reason: 'prev_hash_mismatch' };
    const hash = chainHash(prev, contentDigest(event));
    if (hash !== event.hash) return { event, reason: 'hash_mismatch' };
    prev = hash;
    expectedRevision++;
  }
  return null;
}
