import type { Position, RecordedEvent, SubscriptionBatch } from '../eventstore/port.ts';
import { matchesFilter, unionFilter } from '../eventstore/filter.ts';
import { comparePositions } from '../eventstore/position.ts';
import { sleep } from '../sleep.ts';
import { handleBatch, type Subscriber, type SubscriberDeps } from './subscriber.ts';

/** Events per read of the shared subscription; each member still handles at most its own `batchSize` per transaction. */
const FEED_BATCH = 500;

/**
 * Batches a member may have waiting before it is left behind: the feed goes at its fastest member's pace,
 * and one this far behind catches up with reads of its own (see {@link SharedFeed.serve}) instead of
 * holding the others back.
 */
const MAX_QUEUED = 4;

/** Pause before the feed reads again after its read of the store failed. */
const READ_RETRY_MS = 1000;

/** How a member's service ended: its signal aborted, or it fell {@link MAX_QUEUED} batches behind. */
export type FeedEnd = 'stopped' | 'behind';

interface Member<D extends SubscriberDeps> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- members prepare different things
  readonly subscriber: Subscriber<D, any>;
  /** The end of what was handed to it (handled or waiting in `queue`). */
  queued: Position | null;
  readonly queue: SubscriptionBatch[];
  /** Its handling of `queue`, so a leaving member's promise settles only after the transaction in flight. */
  busy: Promise<void> | undefined;
  left: boolean;
  settle(outcome: FeedEnd | Error): void;
}

/**
 * One reader of the store per process, shared by every subscriber the process runs: one `subscribe` over
 * the union of their filters, each batch handed to every member as the events past its own position that
 * pass its own filter, handled in order with {@link handleBatch} (so each member keeps its checkpoint row,
 * its transaction and its idempotence across processes exactly as when it read alone).
 *
 * The feed reads from the furthest-behind member; a member that joins behind it (start-up, a leadership
 * take-over, a retry) restarts the read from there, and the others skip what they already have. It reads
 * on as soon as one member has room, so a slow member does not hold the others back: it ends `behind`
 * and catches up alone. A member whose batch fails leaves the feed (its promise rejects; the caller
 * retries it later) without holding up or skipping the others.
 */
export class SharedFeed<D extends SubscriberDeps> {
  readonly #deps: D;
  readonly #signal: AbortSignal;
  readonly #members = new Set<Member<D>>();
  /** Aborts the current read so the next one starts from the members as they are now. */
  #restart = new AbortController();
  #looping = false;
  /** Woken when a member joins, leaves or finishes a batch. */
  #changed: (() => void)[] = [];

  constructor(deps: D, signal: AbortSignal) {
    this.#deps = deps;
    this.#signal = signal;
  }

  /**
   * Serves `subscriber` from `from` (its checkpoint as just read) until `signal` or the feed's own signal
   * aborts (`stopped`), until it falls behind the others (`behind`: the caller catches it up and serves it
   * again), or until one of its batches fails (rejects with that error).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- members prepare different things
  serve(subscriber: Subscriber<D, any>, from: Position | null, signal: AbortSignal): Promise<FeedEnd> {
    return new Promise<FeedEnd>((resolve, reject) => {
      const onAbort = () => member.settle('stopped');
      const member: Member<D> = {
        subscriber,
        queued: from,
        queue: [],
        busy: undefined,
        left: false,
        settle: (outcome) => {
          if (member.left) return;
          member.left = true;
          member.queue.length = 0;
          this.#members.delete(member);
          signal.removeEventListener('abort', onAbort);
          this.#signal.removeEventListener('abort', onAbort);
          this.#wake();
          void (member.busy ?? Promise.resolve()).then(() => (outcome instanceof Error ? reject(outcome) : resolve(outcome)));
        },
      };
      if (signal.aborted || this.#signal.aborted) {
        resolve('stopped');
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.#signal.addEventListener('abort', onAbort, { once: true });
      this.#members.add(member);
      // Its filter may be outside the current read's, or its position behind it: read again for everyone.
      this.#restart.abort();
      this.#wake();
      if (!this.#looping) {
        this.#looping = true;
        void this.#loop().finally(() => (this.#looping = false));
      }
    });
  }

  #wake(): void {
    const waiting = this.#changed;
    this.#changed = [];
    for (const wake of waiting) wake();
  }

  /** Resolves at the next join, leave or finished batch (or when the feed stops). */
  #nextChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#signal.aborted) resolve();
      else this.#changed.push(resolve);
    });
  }

  async #loop(): Promise<void> {
    const stopAll = () => this.#wake();
    this.#signal.addEventListener('abort', stopAll, { once: true });
    try {
      while (!this.#signal.aborted) {
        if (this.#members.size === 0) {
          await this.#nextChange();
          continue;
        }
        await this.#read();
      }
    } finally {
      this.#signal.removeEventListener('abort', stopAll);
    }
  }

  /** One subscription from the furthest-behind member, until a member joins (or the feed stops). */
  async #read(): Promise<void> {
    const restart = new AbortController();
    this.#restart = restart;
    const stop = () => restart.abort();
    this.#signal.addEventListener('abort', stop, { once: true });
    const members = [...this.#members];
    const from = members.reduce<Position | null>((min, m) => (comparePositions(m.queued, min) < 0 ? m.queued : min), members[0]!.queued);
    try {
      const batches = this.#deps.store.subscribe({
        from,
        filter: unionFilter(members.map((m) => m.subscriber.filter)),
        batchSize: FEED_BATCH,
        signal: restart.signal,
      });
      for await (const batch of batches) {
        // Only the members this read started for: one that joined since may be behind its start (the
        // restart reads again for it).
        const readers = () => members.filter((m) => !m.left);
        // At the fastest member's pace: wait until one has room; the ones still full are left behind.
        while (readers().length && !readers().some((m) => m.queue.length < MAX_QUEUED) && !restart.signal.aborted) {
          await this.#nextChange();
        }
        for (const member of readers()) {
          if (member.queue.length >= MAX_QUEUED) member.settle('behind');
          else this.#hand(member, batch);
        }
        if (restart.signal.aborted || readers().length === 0) break;
      }
    } catch (error) {
      if (this.#signal.aborted) return;
      this.#deps.log?.error({ err: error }, `subscription read failed; reading again in ${READ_RETRY_MS / 1000} s`);
      await sleep(READ_RETRY_MS, this.#signal);
    } finally {
      this.#signal.removeEventListener('abort', stop);
    }
  }

  /** Queues for one member the part of `batch` past what it was handed and passing its filter. */
  #hand(member: Member<D>, batch: SubscriptionBatch): void {
    if (member.left || comparePositions(batch.checkpoint, member.queued) <= 0) return;
    const { subscriber } = member;
    const events = batch.events.filter(
      (e: RecordedEvent) => comparePositions(e.position, member.queued) > 0 && matchesFilter(subscriber.filter, e),
    );
    member.queued = batch.checkpoint;
    member.queue.push({ events, checkpoint: batch.checkpoint, live: batch.live });
    member.busy ??= this.#drain(member);
  }

  /** Handles a member's queue in order, in transactions of at most its batch size; a failure takes it out of the feed. */
  async #drain(member: Member<D>): Promise<void> {
    const { subscriber } = member;
    const size = subscriber.batchSize ?? FEED_BATCH;
    try {
      for (let batch = member.queue[0]; batch && !member.left; batch = member.queue[0]) {
        const { events } = batch;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a member may leave while a chunk is handled
        for (let i = 0; (i === 0 || i < events.length) && !member.left; i += size) {
          const chunk = events.slice(i, i + size);
          const checkpoint = i + size < events.length ? chunk.at(-1)!.position : batch.checkpoint;
          const handled = await handleBatch(this.#deps, subscriber, chunk, checkpoint);
          if (handled) this.#deps.log?.debug({ subscriber: subscriber.name, handled }, 'handled');
        }
        member.queue.shift();
        this.#wake();
      }
      member.busy = undefined;
    } catch (error) {
      member.busy = undefined;
      member.settle(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
