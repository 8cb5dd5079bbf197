import { GENESIS_HASH } from '../domain/events/index.ts';
import { chainHash, contentDigest } from './hash.ts';
import type { RecordedEvent } from './port.ts';

/** The first event of a stream whose chain link does not hold, and why. */
export interface ChainBreak {
  readonly event: RecordedEvent;
  readonly reason: 'prev_hash_mismatch' | 'hash_mismatch' | 'revision_gap';
}

/**
 * Checks hash chains incrementally, many streams at once: feed events in each stream's revision order
 * (global order does that), keeping only the last hash per stream in memory.
 */
export class ChainVerifier {
  readonly #tails = new Map<string, { hash: string; revision: number }>();
  streams = 0;
  events = 0;

  /** Checks one event against its stream's chain so far; null when the link holds. */
  check(event: RecordedEvent): ChainBreak | null {
    const tail = this.#tails.get(event.streamId);
    if (!tail) this.streams++;
    this.events++;
    const prev = tail?.hash ?? GENESIS_HASH;
    const expectedRevision = tail ? tail.revision + 1 : 0;
    if (event.revision !== expectedRevision) return { event, reason: 'revision_gap' };
    if (event.metadata.prevHash !== prev) return { event, reason: 'prev_hash_mismatch' };
    const hash = chainHash(prev, contentDigest(event));
    if (hash !== event.hash) return { event, reason: 'hash_mismatch' };
    this.#tails.set(event.streamId, { hash, revision: event.revision });
    return null;
  }
}

/** Recomputes one stream's hash chain (events in revision order); null when intact. */
export function verifyStreamChain(events: readonly RecordedEvent[]): ChainBreak | null {
  const verifier = new ChainVerifier();
  for (const event of events) {
    const broken = verifier.check(event);
    if (broken) return broken;
  }
  return null;
}
