import type { EventFilter, Position, RecordedEvent, SubscriptionBatch } from '../port.ts';
import { comparePositions } from '../position.ts';
import { type EsdbRecord, fromEsdbPosition, isSystemEvent, toRecordedEvent } from './mapping.ts';
import { matchesFilter } from '../filter.ts';

const max = (a: Position | null, b: Position | null) => (comparePositions(a, b) >= 0 ? a : b);

/**
 * The bookkeeping of one `subscribe` call, across resubscriptions: which events the server has sent,
 * which of them pass the filter and wait to be handed over, and the checkpoint of each batch.
 *
 * Two positions matter. `lastReceived` is the $all position of the last event the server sent (passing
 * the filter or not): a resubscription starts right after it and drops anything at or before it, so
 * nothing is repeated. `scanned` is how far the $all log is known to be read: `lastReceived`, or further
 * when the server reports a checkpoint past filtered-out events. A batch's checkpoint is `scanned`, so
 * checkpoints move over filtered gaps; server checkpoints never decide what is dropped, because some
 * server versions have reported checkpoints ahead of events not yet delivered (KurrentDB#4970).
 */
export class BatchBuilder {
  readonly #filter: EventFilter | undefined;
  readonly #batchSize: number;
  #pending: RecordedEvent[] = [];
  #lastReceived: Position | null;
  #scanned: Position | null;
  #checkpoint: Position | null;
  #live = false;

  constructor(from: Position | null, batchSize: number, filter?: EventFilter) {
    this.#lastReceived = from;
    this.#scanned = from;
    this.#checkpoint = from;
    this.#batchSize = Math.max(1, Math.floor(batchSize));
    this.#filter = filter;
  }

  /** Where a (re)subscription starts, exclusive. */
  get resumeFrom(): Position | null {
    return this.#lastReceived;
  }

  /** How far the log is known to be read. */
  get scanned(): Position | null {
    return this.#scanned;
  }

  /** True when a full batch is waiting. */
  get full(): boolean {
    return this.#pending.length >= this.#batchSize;
  }

  get hasPending(): boolean {
    return this.#pending.length > 0;
  }

  /** True when {@link take} would hand out something: events, or a checkpoint that moved. */
  get hasProgress(): boolean {
    return this.#pending.length > 0 || comparePositions(this.#scanned, this.#checkpoint) > 0;
  }

  /** Whether the subscription has caught up with the head (until the server says it fell behind). */
  set live(value: boolean) {
    this.#live = value;
  }

  get live(): boolean {
    return this.#live;
  }

  /**
   * Takes one event the server sent. Returns false for a repeat (at or before the last one received,
   * as after a resubscription); system events and events failing the filter only move `scanned`.
   * Throws {@link InvalidEventError} for a matching event that cannot be parsed.
   */
  receive(record: EsdbRecord): boolean {
    const position = fromEsdbPosition(record.position);
    if (!position) throw new Error(`$all event ${record.streamId}@${record.revision} came without a position`);
    if (comparePositions(position, this.#lastReceived) <= 0) return false;
    const event = !isSystemEvent(record) && matchesFilter(this.#filter, record) ? toRecordedEvent(record) : undefined;
    this.#lastReceived = position;
    this.#scanned = max(this.#scanned, position);
    if (event) this.#pending.push(event);
    return true;
  }

  /** A server checkpoint: the log is read up to `position`. Returns whether `scanned` moved. */
  checkpointReached(position: Position): boolean {
    if (comparePositions(position, this.#scanned) <= 0) return false;
    this.#scanned = position;
    return true;
  }

  /**
   * The next batch, or null when there is nothing new. A batch holds at most `batchSize` events; its
   * checkpoint is `scanned`, or the last event's position when more events are still waiting.
   */
  take(): SubscriptionBatch | null {
    if (!this.hasProgress) return null;
    const events = this.#pending.splice(0, this.#batchSize);
    const checkpoint = this.#pending.length > 0 ? events.at(-1)!.position : this.#scanned!;
    this.#checkpoint = max(this.#checkpoint, checkpoint);
    return { events, checkpoint: this.#checkpoint!, live: this.#live && this.#pending.length === 0 };
  }
}
