import type { Position, RecordedEvent, SubscriptionBatch } from '../eventstore/port.ts';
import { matchesFilter, unionFilter } from '../eventstore/filter.ts';
import { comparePositions } from '../eventstore/position.ts';
import { sleep } from '../sleep.ts';
import { handleBatch, type Subscriber, type SubscriberDeps } from './subscriber.ts';

/** Events per read of the shared subscription; each member still handles at most its own `batchSize` per transaction. */
const FEED_BATCH = 500;

/** Pause before the feed reads again after its read of the store failed. */
const READ_RETRY_MS = 1000;

interface Member<D extends SubscriberDeps> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- members prepare different things
  readonly subscriber: Subscriber<D, any>;
  /** Where this member's checkpoint is, as far as this process knows (the row in the database decides). */
  position: Position | null;
  /** The delivery in progress, so a leaving member's promise settles only after its transaction. */
  busy: Promise<void>;
  left: boolean;
  settle(error?: unknown): void;
}

/**
 * One reader of the store per process, shared by every subscriber the process runs: one `subscribe` over
 * the union of their filters, each batch fanned out to every member as the events past its own position
 * that pass its own filter, handled with {@link handleBatch} (so each member keeps its checkpoint row, its
 * transaction and its idempotence across processes exactly as when it read alone).
 *
 * The feed reads from the furthest-behind member; a member that joins behind it (start-up, a leadership
 * take-over, a retry) restarts the read from there, and the others skip what they already have. A member
 * whose batch fails leaves the feed (its promise rejects; the caller retries it later) without holding up
 * or skipping the others.
 */
export class SharedFeed<D extends SubscriberDeps> {
  readonly #deps: D;
  readonly #signal: AbortSignal;
  readonly #members = new Set<Member<D>>();
  /** Aborts the current read so the next one starts from the members as they are now. */
  #restart = new AbortController();
  #running: Promise<void> | undefined;
  #joined: (() => void) | undefined;

  constructor(deps: D, signal: AbortSignal) {
    this.#deps = deps;
    this.#signal = signal;
  }

  /**
   * Serves `subscriber` from `from` (its checkpoint as just read) until `signal` or the feed's own signal
   * aborts (resolves) or one of its batches fails (rejects with that error).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- members prepare different things
  serve(subscriber: Subscriber<D, any>, from: Position | null, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const member: Member<D> = {
        subscriber,
        position: from,
        busy: Promise.resolve(),
        left: false,
        settle: (error) => {
          if (member.left) return;
          member.left = true;
          this.#members.delete(member);
          signal.removeEventListener('abort', onAbort);
          this.#signal.removeEventListener('abort', onAbort);
          void member.busy.then(() => (error === undefined ? resolve() : reject(error)));
        },
      };
      const onAbort = () => member.settle();
      if (signal.aborted || this.#signal.aborted) return resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#signal.addEventListener('abort', onAbort, { once: true });
      this.#members.add(member);
      // Its filter may be outside the current read's, or its position behind it: read again for everyone.
      this.#restart.abort();
      this.#joined?.();
      this.#running ??= this.#loop().finally(() => (this.#running = undefined));
    });
  }

  async #loop(): Promise<void> {
    while (!this.#signal.aborted) {
      if (this.#members.size === 0) {
        await new Promise<void>((resolve) => {
          this.#joined = resolve;
          this.#signal.addEventListener('abort', () => resolve(), { once: true });
        });
        this.#joined = undefined;
        continue;
      }
      const restart = new AbortController();
      this.#restart = restart;
      const stop = () => restart.abort();
      this.#signal.addEventListener('abort', stop, { once: true });
      const members = [...this.#members];
      const from = members.reduce<Position | null>(
        (min, m) => (comparePositions(m.position, min) < 0 ? m.position : min),
        members[0]!.position,
      );
      try {
        const batches = this.#deps.store.subscribe({
          from,
          filter: unionFilter(members.map((m) => m.subscriber.filter)),
          batchSize: FEED_BATCH,
          signal: restart.signal,
        });
        for await (const batch of batches) {
          await Promise.all([...this.#members].map((member) => this.#deliver(member, batch)));
          if (restart.signal.aborted) break;
        }
      } catch (error) {
        if (this.#signal.aborted) break;
        this.#deps.log?.error({ err: error }, `subscription read failed; reading again in ${READ_RETRY_MS / 1000} s`);
        await sleep(READ_RETRY_MS, this.#signal);
      } finally {
        this.#signal.removeEventListener('abort', stop);
      }
    }
  }

  /** Hands `batch` to one member in transactions of at most its batch size; a failure takes it out of the feed. */
  #deliver(member: Member<D>, batch: SubscriptionBatch): Promise<void> {
    if (member.left || comparePositions(batch.checkpoint, member.position) <= 0) return Promise.resolve();
    const { subscriber } = member;
    const events = batch.events.filter(
      (e: RecordedEvent) => comparePositions(e.position, member.position) > 0 && matchesFilter(subscriber.filter, e),
    );
    const size = subscriber.batchSize ?? FEED_BATCH;
    member.busy = (async () => {
      try {
        for (let i = 0; i === 0 || i < events.length; i += size) {
          const chunk = events.slice(i, i + size);
          const checkpoint = i + size < events.length ? chunk.at(-1)!.position : batch.checkpoint;
          const handled = await handleBatch(this.#deps, subscriber, chunk, checkpoint);
          member.position = checkpoint;
          if (handled) this.#deps.log?.debug({ subscriber: subscriber.name, handled }, 'handled');
          if (member.left) return;
        }
      } catch (error) {
        member.busy = Promise.resolve();
        member.settle(error);
      }
    })();
    return member.busy;
  }
}
