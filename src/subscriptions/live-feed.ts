import type { Logger } from 'pino';
import type { EventStore, Position, RecordedEvent } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import { retryUntilAborted } from './retry.ts';

/** What a listener is handed: one of its org's events, in commit order, each once. */
export type FeedHandler = (event: RecordedEvent) => void;

/** A registered listener; `close()` stops it. */
export interface FeedListener {
  close(): void;
}

/** A resume point too far back to replay: the page should reload instead. */
export class ResumeTooFarError extends Error {
  override name = 'ResumeTooFarError';
}

interface Entry {
  readonly orgId: string;
  readonly handler: FeedHandler;
  /** Position of the last event handed over; nothing at or before it is handed again. */
  last: Position | null;
  /** Live events that arrived while the listener was catching up (null once it is live). */
  buffer: RecordedEvent[] | null;
}

/** Options of {@link LiveFeed}. */
export interface LiveFeedOptions {
  /** Most events a resuming listener is replayed before it is told to reload instead. */
  readonly maxReplay?: number;
  /** Wait before re-subscribing after the subscription failed. */
  readonly retryMs?: number;
  readonly log?: Logger;
}

/**
 * The org's new events for open pages. ONE event-store subscription per feed (one feed per process),
 * started at the store's head when the first listener arrives and kept until the feed closes; each event
 * is fanned out in memory to the listeners of its org. Browsers never cause a database poll.
 *
 * A listener resuming after a position (SSE `Last-Event-ID`) is first registered in a buffering state,
 * then replayed what it missed with `readAll({from, filter: {orgId}})`, then handed the buffered and live
 * events. Everything the subscription handed out before the registration is visible to the replay's read,
 * everything after it is in the buffer; the per-listener "last position" drops the overlap, so there is no
 * gap and no duplicate across the hand-over.
 */
export class LiveFeed {
  readonly #store: EventStore;
  readonly #options: LiveFeedOptions;
  readonly #listeners = new Set<Entry>();
  #controller: AbortController | null = null;
  /** Resolves once the subscription's start position is fixed (so registration order is meaningful). */
  #started: Promise<void> | null = null;
  #position: Position | null = null;

  constructor(store: EventStore, options: LiveFeedOptions = {}) {
    this.#store = store;
    this.#options = options;
  }

  /** Listeners currently registered (tests, metrics). */
  get size(): number {
    return this.#listeners.size;
  }

  /** True while the one subscription runs. */
  get running(): boolean {
    return this.#controller !== null;
  }

  /**
   * Registers a listener for an org's events. With `after`, first replays the org's events after that
   * position (at most `maxReplay`, else {@link ResumeTooFarError}); without it, only events from now on.
   */
  async listen(orgId: string, after: Position | null, handler: FeedHandler): Promise<FeedListener> {
    const entry: Entry = { orgId, handler, last: after, buffer: after ? [] : null };
    this.#listeners.add(entry);
    const listener = { close: () => this.#remove(entry) };
    try {
      await this.#ensureStarted();
      if (after) await this.#replay(entry, after);
    } catch (error) {
      listener.close();
      throw error;
    }
    return listener;
  }

  /** Stops the subscription and drops every listener. */
  close(): void {
    this.#listeners.clear();
    this.#stop();
  }

  async #replay(entry: Entry, after: Position): Promise<void> {
    const max = this.#options.maxReplay ?? 5000;
    let from: Position | null = after;
    let replayed = 0;
    for (;;) {
      const page = await this.#store.readAll({ from, limit: 500, filter: { orgId: entry.orgId } });
      for (const event of page.events) this.#deliver(entry, event);
      replayed += page.events.length;
      if (replayed > max) throw new ResumeTooFarError(`more than ${max} events since that position; reload`);
      if (page.events.length < 500) break;
      from = page.checkpoint;
    }
    // Live from here on: what arrived meanwhile goes out in order, minus what the replay already sent.
    const buffered = entry.buffer ?? [];
    entry.buffer = null;
    for (const event of buffered) this.#deliver(entry, event);
  }

  #deliver(entry: Entry, event: RecordedEvent): void {
    if (entry.last && comparePositions(event.position, entry.last) <= 0) return;
    entry.last = event.position;
    try {
      entry.handler(event);
    } catch (err) {
      this.#options.log?.warn({ err }, 'live feed listener failed');
    }
  }

  #dispatch(events: readonly RecordedEvent[]): void {
    for (const event of events) {
      for (const entry of this.#listeners) {
        if (entry.orgId !== event.metadata.orgId) continue;
        if (entry.buffer) entry.buffer.push(event);
        else this.#deliver(entry, event);
      }
    }
  }

  #remove(entry: Entry): void {
    // The subscription keeps running while no page listens: restarting it per page would churn the
    // store's LISTEN connection for nothing, and one idle subscription per process costs next to nothing.
    this.#listeners.delete(entry);
  }

  #stop(): void {
    this.#controller?.abort();
    this.#controller = null;
    this.#started = null;
  }

  #ensureStarted(): Promise<void> {
    if (this.#started) return this.#started;
    const controller = new AbortController();
    this.#controller = controller;
    const started = (async () => {
      this.#position = await this.#store.headPosition();
    })();
    this.#started = started;
    started.then(
      () => this.#run(controller.signal),
      () => {
        // The next listener tries again.
        if (this.#controller === controller) this.#stop();
      },
    );
    return started;
  }

  /** The one subscription: dispatches every batch; after a failure re-subscribes from the last position. */
  async #run(signal: AbortSignal): Promise<void> {
    await retryUntilAborted(
      signal,
      async () => {
        for await (const batch of this.#store.subscribe({ from: this.#position, signal, batchSize: 500 })) {
          if (signal.aborted) return;
          this.#dispatch(batch.events);
          this.#position = batch.checkpoint;
        }
      },
      (err) => this.#options.log?.warn({ err }, 'live feed subscription failed; resubscribing'),
      this.#options.retryMs ?? 1000,
    );
  }
}
