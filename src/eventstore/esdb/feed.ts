import type { Readable } from 'node:stream';
import type { AllStreamResolvedEvent, AllStreamRecordedEvent, Position as EsdbPosition } from '@kurrent/kurrentdb-client';

/** One thing a subscription reported, in the order the server sent it. */
export type FeedItem =
  | { readonly kind: 'event'; readonly record: AllStreamRecordedEvent }
  | { readonly kind: 'checkpoint'; readonly position: EsdbPosition }
  | { readonly kind: 'caughtUp' }
  | { readonly kind: 'fellBehind' }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'end' };

/** What {@link SubscriptionFeed.next} resolves to besides an item. */
export type FeedWait = 'timeout' | 'aborted';

/**
 * Turns a catch-up subscription (the client's `AllStreamSubscription`, a Readable of resolved events
 * that also emits `caughtUp`/`fellBehind` and calls a filter's `checkpointReached`) into one ordered
 * queue that the subscribe loop pulls from with a timeout.
 *
 * Ordering: the client emits `caughtUp` and calls `checkpointReached` while it processes a server
 * message, when events of earlier messages may still sit in the Readable's buffer. Such a marker is
 * therefore queued only after the events buffered at that moment (`readableLength`) have come out as
 * `data`, so a checkpoint never overtakes an event before it.
 *
 * Backpressure: the Readable is paused while `highWater` items wait, so a slow consumer holds the
 * server back instead of buffering without bound.
 */
export class SubscriptionFeed {
  readonly #stream: Readable;
  readonly #cancel: () => Promise<void>;
  readonly #highWater: number;
  readonly #items: FeedItem[] = [];
  readonly #markers: { remaining: number; item: FeedItem }[] = [];
  #wake: (() => void) | undefined;
  #paused = false;
  #closed = false;

  constructor(stream: Readable, cancel: () => Promise<void>, highWater = 1024) {
    this.#stream = stream;
    this.#cancel = cancel;
    this.#highWater = Math.max(2, highWater);
    stream.on('data', (resolved: AllStreamResolvedEvent) => {
      if (resolved.event) this.#push({ kind: 'event', record: resolved.event });
      this.#countDown();
      if (!this.#paused && this.#items.length >= this.#highWater) {
        this.#paused = true;
        stream.pause();
      }
    });
    stream.on('caughtUp', () => this.#afterBuffered({ kind: 'caughtUp' }));
    stream.on('fellBehind', () => this.#afterBuffered({ kind: 'fellBehind' }));
    // An error ends the subscription; whatever is still buffered is read again after resubscribing.
    stream.on('error', (error: unknown) => this.#push({ kind: 'error', error }));
    stream.on('end', () => this.#push({ kind: 'end' }));
    stream.on('close', () => this.#push({ kind: 'end' }));
  }

  /** For the filter's `checkpointReached` callback. */
  checkpoint(position: EsdbPosition): void {
    this.#afterBuffered({ kind: 'checkpoint', position });
  }

  /** Items waiting to be pulled. */
  get size(): number {
    return this.#items.length;
  }

  /**
   * The next item; 'timeout' when none came within `timeoutMs` (undefined: wait indefinitely),
   * 'aborted' once `signal` aborts or the feed is closed.
   */
  async next(timeoutMs: number | undefined, signal?: AbortSignal): Promise<FeedItem | FeedWait> {
    for (;;) {
      if (this.#closed || signal?.aborted) return 'aborted';
      const item = this.#items.shift();
      if (item) {
        this.#maybeResume();
        return item;
      }
      if (timeoutMs !== undefined && timeoutMs <= 0) return 'timeout';
      const woken = await new Promise<'item' | FeedWait>((resolve) => {
        const done = (why: 'item' | FeedWait) => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#wake = undefined;
          resolve(why);
        };
        const onAbort = () => done('aborted');
        const timer = timeoutMs === undefined ? undefined : setTimeout(() => done('timeout'), timeoutMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#wake = () => done('item');
      });
      if (woken !== 'item') return woken;
    }
  }

  /** Cancels the subscription; pending and later items are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.#items.length = 0;
    this.#markers.length = 0;
    // Keep an error listener: a late error of a cancelled call must not become an unhandled one.
    this.#stream.on('error', () => {});
    try {
      await this.#cancel();
    } catch {
      // already gone
    } finally {
      this.#stream.destroy();
    }
  }

  #push(item: FeedItem): void {
    if (this.#closed) return;
    this.#items.push(item);
    this.#wake?.();
  }

  #afterBuffered(item: FeedItem): void {
    const buffered = this.#stream.readableLength;
    if (buffered === 0 && this.#markers.length === 0) this.#push(item);
    else this.#markers.push({ remaining: buffered, item });
  }

  /** One buffered event came out: markers count down and those now due are queued, in order. */
  #countDown(): void {
    for (const marker of this.#markers) if (marker.remaining > 0) marker.remaining--;
    while (this.#markers.length > 0 && this.#markers[0]!.remaining === 0) this.#push(this.#markers.shift()!.item);
  }

  #maybeResume(): void {
    if (this.#paused && this.#items.length <= this.#highWater / 2) {
      this.#paused = false;
      this.#stream.resume();
    }
  }
}
