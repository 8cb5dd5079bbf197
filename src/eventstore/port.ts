import type { AnyEventType, DomainEvent, EventData, EventMetadata } from '../domain/events/index.ts';

/**
 * A place in the store's global order. Both adapters use the same pair: on PostgreSQL `commit` is the
 * appending transaction's id and `prepare` the row's sequence number; on EventStoreDB they are the
 * commit and prepare positions of its transaction log. Ordered by `commit`, then `prepare`.
 */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** Where an append expects the stream to be; a mismatch is a {@link WrongExpectedRevisionError}. */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | number;

/**
 * An Idempotency-Key claimed together with an append: the first append that names (org, key) records
 * the request's fingerprint and target stream; any later append naming the same (org, key) with another
 * fingerprint or stream is refused with {@link IdempotencyKeyClaimedError}. The org is the events' org.
 */
export interface IdempotencyClaim {
  readonly key: string;
  readonly requestHash: string;
}

/** Options of `append`. */
export interface AppendOptions {
  readonly expectedRevision: ExpectedRevision;
  /** Claim this key atomically with the append (PostgreSQL) or just before it, retry-safe (EventStoreDB). */
  readonly claim?: IdempotencyClaim;
}

/** An event as handed to `append`: the store adds revision, position, hash chain and record time. */
export interface EventToAppend<E extends DomainEvent = DomainEvent> {
  /** UUID; defaults to a random one. A deterministic id makes a retried append write nothing. */
  readonly id?: string;
  readonly type: E['type'];
  readonly data: E['data'];
  readonly metadata: AppendMetadata;
}

/** Metadata the caller supplies; `prevHash` and `schemaVersion` are filled in by the store. */
export type AppendMetadata = Omit<EventMetadata, 'prevHash' | 'schemaVersion'>;

/** Fields every recorded event has besides its type and data. */
export interface RecordedEventBase {
  readonly streamId: string;
  readonly revision: number;
  readonly id: string;
  readonly metadata: EventMetadata;
  readonly position: Position;
  readonly recordedAt: Date;
  /** This event's link in its stream's hash chain: sha256(prevHash + content digest). */
  readonly hash: string;
}

/**
 * An event read back from the store, parsed and upcast to the current schema version.
 * Distributes over `E`, so a `switch (event.type)` narrows `event.data`.
 */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E extends DomainEvent
  ? RecordedEventBase & { readonly type: E['type']; readonly data: E['data'] }
  : never;

/** The result of a successful (or idempotently repeated) append. */
export interface AppendResult {
  /** Revision of the last event in the stream after the append. */
  readonly nextRevision: number;
  /** Global position of the last appended event. */
  readonly position: Position;
  /** True when the same event ids were already there and nothing was written. */
  readonly duplicate: boolean;
}

/** Narrows `readAll` and `subscribe`; all given criteria must match. */
export interface EventFilter {
  /** Stream name prefixes such as `booking-`. */
  readonly streamPrefixes?: readonly string[];
  readonly eventTypes?: readonly AnyEventType[];
  /** Only events of this org (metadata.orgId). */
  readonly orgId?: string;
}

export interface ReadStreamOptions {
  readonly fromRevision?: number;
  readonly direction?: 'forwards' | 'backwards';
  readonly maxCount?: number;
  /** Return data and metadata exactly as stored: no upcasting, no schema validation (audit). */
  readonly raw?: boolean;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Omitted: from the first event. */
  readonly from?: Position | null;
  readonly limit?: number;
  readonly filter?: EventFilter;
  /** Return data and metadata exactly as stored: no upcasting, no schema validation (audit). */
  readonly raw?: boolean;
  /**
   * Take data and metadata stored at the current schema version as they are, without validating them
   * again (`append` validated them); older versions are still upcast and validated. For replays of the
   * whole log (projection rebuilds), where validation would cost more than the projection itself.
   */
  readonly trusted?: boolean;
}

/** A page of `readAll`: `checkpoint` is where the next page starts, also when filtering skipped events. */
export interface ReadAllPage {
  readonly events: RecordedEvent[];
  readonly checkpoint: Position | null;
}

export interface SubscribeOptions {
  readonly from?: Position | null;
  readonly filter?: EventFilter;
  /** Largest batch handed over at once. */
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

/**
 * One step of a subscription: the events since the last batch (maybe none, when only the
 * checkpoint moved past filtered-out events) and the position to resume from.
 */
export interface SubscriptionBatch {
  readonly events: RecordedEvent[];
  readonly checkpoint: Position;
  /** True once the batch reached the head of the store as of reading it (catch-up done). */
  readonly live: boolean;
}

/** The event store port; `src/eventstore/postgres` and `src/eventstore/esdb` implement it. */
export interface EventStore {
  readonly kind: 'postgres' | 'esdb';
  append(streamId: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult>;
  /**
   * The stream's events in the asked range. A stream that was never written reads as no events, not as an
   * error (as Emmett's `aggregateStream`): a stream that exists always has one, so an unbounded read
   * answers whether it exists.
   */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<ReadAllPage>;
  /** Catch-up then live; ends when `signal` aborts. Never skips or repeats an event. */
  subscribe(options?: SubscribeOptions): AsyncIterable<SubscriptionBatch>;
  /** Position of the last event a subscriber can see now, null for an empty store. */
  headPosition(): Promise<Position | null>;
  /**
   * Position of the newest event written, whether subscribers can see it yet or not (null for an empty
   * store): no position an append returned is past it, so a client's token past it was never ours.
   */
  newestPosition(): Promise<Position | null>;
  close(): Promise<void>;
}

/** The stream is not where the append expected it. */
export class WrongExpectedRevisionError extends Error {
  override name = 'WrongExpectedRevisionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision; -1 when it has no events. */
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${actual === -1 ? 'no stream' : actual}`);
  }
}

/** The append's Idempotency-Key is already claimed for another request or another stream; nothing was written. */
export class IdempotencyKeyClaimedError extends Error {
  override name = 'IdempotencyKeyClaimedError';
  constructor(
    readonly orgId: string,
    readonly key: string,
  ) {
    super(`Idempotency-Key ${JSON.stringify(key)} of org ${orgId} is claimed by another request`);
  }
}

/** An event failed its catalog schema on append, or an unknown type/version was read. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

export type { EventData };
