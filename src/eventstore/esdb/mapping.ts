// Pure translations between the EventStore port and @kurrent/kurrentdb-client 1.x, kept apart from the
// adapter so they can be unit-tested without a server.
import {
  ANY,
  BACKWARDS,
  END,
  eventTypeFilter,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  streamNameFilter,
  type AllStreamSubscription,
  type AppendStreamState,
  type CurrentStreamState,
  type EventData as EsdbEventData,
  type Filter,
  type JSONType,
  type Position as EsdbPosition,
  type ReadPosition,
  type ReadStreamOptions as EsdbReadStreamOptions,
  type WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { createHash, randomUUID } from 'node:crypto';
import { eventMetadata, readEventData } from '../../domain/events/index.ts';
import type { PreparedEvent } from '../append-input.ts';
import { chainHash } from '../hash.ts';
import {
  type EventFilter,
  type ExpectedRevision,
  type IdempotencyClaim,
  InvalidEventError,
  type Position,
  type ReadStreamOptions,
  type RecordedEvent,
  WrongExpectedRevisionError,
} from '../port.ts';

// ---------------------------------------------------------------------------------------------
// Connection

/**
 * The config accepts the older `esdb://` / `esdb+discover://` spellings (from `@eventstore/db-client`
 * days) as well as `kurrentdb://` / `kdb://`. `@kurrent/kurrentdb-client` still parses `esdb://` but
 * prints a deprecation warning on every connect, so it is rewritten to `kurrentdb://` here.
 */
export function normaliseConnectionString(connectionString: string): string {
  return connectionString.replace(/^esdb(\+discover)?:\/\//i, (_m, discover: string | undefined) => `kurrentdb${discover ?? ''}://`);
}

// ---------------------------------------------------------------------------------------------
// Positions

/** Largest value a server position can take; stream reads on old servers send 2^64-1 for "none". */
const MAX_POSITION = (1n << 63n) - 1n;

/**
 * Stands in for the position of an event read from a stream on a server older than 22.6, which
 * sends no $all position with stream reads. Never produced by `readAll`/`subscribe`.
 */
export const UNKNOWN_POSITION: Position = Object.freeze({ commit: -1n, prepare: -1n });

/** A client position as a port position; undefined when the server sent none (or a "none" sentinel). */
export function fromEsdbPosition(position: EsdbPosition | undefined): Position | undefined {
  if (!position) return undefined;
  const { commit, prepare } = position;
  if (commit < 0n || prepare < 0n || commit > MAX_POSITION || prepare > MAX_POSITION) return undefined;
  return { commit, prepare };
}

/** Where a forwards $all read or subscription starts: the position itself, or START for none. */
export function toReadPosition(from: Position | null | undefined): ReadPosition {
  return from ? { commit: from.commit, prepare: from.prepare } : START;
}

// ---------------------------------------------------------------------------------------------
// Expected revisions

/** Throws RangeError for an exact revision that is not a non-negative safe integer. */
export function assertExpectedRevision(expected: ExpectedRevision): void {
  if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw new RangeError(`expected revision must be a non-negative integer, got ${expected}`);
  }
}

/** The port's expected revision in the client's terms. */
export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendStreamState {
  assertExpectedRevision(expected);
  switch (expected) {
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    case 'any':
      return ANY;
    default:
      return BigInt(expected);
  }
}

/** Whether a stream whose last revision is `revision` (-1: no stream) meets the expectation. */
export function satisfiesExpected(expected: ExpectedRevision, revision: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return revision === -1;
    case 'stream_exists':
      return revision >= 0;
    default:
      return revision === expected;
  }
}

/**
 * What to send the server for an append that passed {@link satisfiesExpected} against `tail`.
 * `no_stream` and an exact revision go as they are. `any` and `stream_exists` become the tail just
 * read, because the new events' hash chain links to that tail: if anything was appended since,
 * the server refuses and the adapter re-reads.
 */
export function appendRevisionFor(expected: ExpectedRevision, tail: number): AppendStreamState {
  if (expected === 'no_stream' || typeof expected === 'number') return toEsdbExpectedRevision(expected);
  return tail < 0 ? NO_STREAM : BigInt(tail);
}

/** The client's current revision as the port counts it: -1 for no stream. */
export function actualRevision(current: CurrentStreamState): number {
  if (current === NO_STREAM || current < 0n) return -1;
  return Number(current);
}

/** The client's `WrongExpectedVersionError` as the port's error, for the port's expectation. */
export function toWrongExpectedRevision(
  error: WrongExpectedVersionError,
  streamId: string,
  expected: ExpectedRevision,
): WrongExpectedRevisionError {
  return new WrongExpectedRevisionError(streamId, expected, actualRevision(error.actualState));
}

// ---------------------------------------------------------------------------------------------
// Append decision

/** What an append found in the stream before writing. */
export interface StreamState {
  /** Last revision; -1 when the stream has no events. */
  readonly revision: number;
  /** `hash` of the last event; the genesis hash for no stream. */
  readonly lastHash: string;
  /** Set when the batch's first event id is already in the stream. */
  readonly match?: {
    /** Revision of the event with the batch's first id. */
    readonly revision: number;
    /** Ids of the events from that revision on, at most as many as the batch has. */
    readonly ids: readonly string[];
    /** Position of the event at `revision + batch length - 1`, when known. */
    readonly lastPosition?: Position;
  };
}

export type AppendDecision =
  | { readonly kind: 'append'; readonly expectedRevision: AppendStreamState; readonly prevHash: string }
  | { readonly kind: 'duplicate'; readonly nextRevision: number; readonly position: Position | undefined }
  | { readonly kind: 'conflict'; readonly actual: number };

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Decides an append the way the PostgreSQL `es_append` does: a batch whose ids are already in the
 * stream, in order, at a place the expectation allows (anywhere for a symbolic one, right after
 * an exact revision) is a duplicate that writes nothing; any other reuse of the first id, or an
 * unmet expectation, is a conflict carrying the stream's actual revision.
 */
export function decideAppend(expected: ExpectedRevision, state: StreamState, batchIds: readonly string[]): AppendDecision {
  const { match } = state;
  if (match) {
    const sameIds = match.ids.length === batchIds.length && match.ids.every((id, i) => sameId(id, batchIds[i]!));
    const samePlace = typeof expected !== 'number' || match.revision === expected + 1;
    if (sameIds && samePlace) {
      return { kind: 'duplicate', nextRevision: match.revision + batchIds.length - 1, position: match.lastPosition };
    }
    return { kind: 'conflict', actual: state.revision };
  }
  if (!satisfiesExpected(expected, state.revision)) return { kind: 'conflict', actual: state.revision };
  return { kind: 'append', expectedRevision: appendRevisionFor(expected, state.revision), prevHash: state.lastHash };
}

/**
 * The revision at which a batch appended under `expected` would start, for an exact expectation
 * (`no_stream`: 0); undefined for `any`/`stream_exists`, which may land anywhere.
 */
export function expectedStart(expected: ExpectedRevision): number | undefined {
  if (expected === 'no_stream') return 0;
  return typeof expected === 'number' ? expected + 1 : undefined;
}

/**
 * Finds the batch in a run of consecutive stream events read forwards: the event carrying the batch's
 * first id, with the ids from there on (at most as many as the batch) and, when the run holds the whole
 * batch, the position of its last event. Undefined when the first id is not in the run.
 */
export function findBatch(
  run: readonly { readonly id: string; readonly revision: bigint; readonly position?: EsdbPosition }[],
  batchIds: readonly string[],
): StreamState['match'] {
  const start = run.findIndex((e) => sameId(e.id, batchIds[0]!));
  if (start < 0) return undefined;
  const slice = run.slice(start, start + batchIds.length);
  const lastPosition = slice.length === batchIds.length ? fromEsdbPosition(slice.at(-1)!.position) : undefined;
  return { revision: Number(run[start]!.revision), ids: slice.map((e) => e.id), ...(lastPosition ? { lastPosition } : {}) };
}

/**
 * After the server accepted an append: whether the batch's last event as stored is another request's
 * (the server answered a racing repeat of these ids with success and wrote nothing). The stored hash
 * differs from the one computed for this batch when anything it covers differs (the other request's
 * clock, request id, data). Equal hashes mean the stored events are exactly this batch: reported as
 * written. A missing stored event (deleted since) is not a repeat.
 */
export function isRepeatOfAnother(computedHash: string, storedLastHash: string | undefined): boolean {
  return storedLastHash !== undefined && storedLastHash !== computedHash;
}

/** Jittered wait before re-reading after a lost race of an `any`/`stream_exists` append. */
export function appendRetryDelayMs(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(100, 5 * 2 ** Math.min(attempt, 10)));
}

/** Wait before resubscribing after the n-th consecutive drop (1-based): 100 ms doubling to 5 s. */
export function resubscribeDelayMs(failures: number): number {
  return Math.min(5000, 100 * 2 ** Math.max(0, Math.min(failures - 1, 10)));
}

// ---------------------------------------------------------------------------------------------
// Metadata and the hash chain

/** Metadata as stored on EventStoreDB: the event's metadata, its `prevHash`, and its own `hash`. */
export type StoredMetadata = PreparedEvent['metadata'] & { readonly prevHash: string; readonly hash: string };

/** A prepared event with its chain link, ready to be written. */
export interface ChainedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: StoredMetadata;
}

/** Links a batch onto a stream whose last hash is `prevHash` (the genesis hash for a new stream). */
export function chainEvents(prepared: readonly PreparedEvent[], prevHash: string): ChainedEvent[] {
  let prev = prevHash;
  return prepared.map((event) => {
    const hash = chainHash(prev, event.digest);
    const metadata: StoredMetadata = { ...event.metadata, prevHash: prev, hash };
    prev = hash;
    return { id: event.id, type: event.type, data: event.data, metadata };
  });
}

/** The client's JSON event for a chained event. */
export function toEventData(event: ChainedEvent): EsdbEventData {
  return jsonEvent({ id: event.id, type: event.type, data: event.data as JSONType, metadata: event.metadata });
}

/** Splits stored metadata into the port's metadata (without `hash`) and the hash. */
export function splitStoredMetadata(raw: unknown): { metadata: Record<string, unknown>; hash: string | undefined } {
  if (!isPlainObject(raw)) return { metadata: {}, hash: undefined };
  const { hash, ...metadata } = raw;
  return { metadata, hash: typeof hash === 'string' ? hash : undefined };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The `hash` of a stored event; throws for an event this store did not write. */
export function storedHash(record: { streamId: string; revision: bigint; metadata: unknown }): string {
  const { hash } = splitStoredMetadata(record.metadata);
  if (hash === undefined) {
    throw new InvalidEventError(`${record.streamId}@${record.revision}: metadata has no hash (not written by this event store)`);
  }
  return hash;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** The fields of a client recorded event the adapter reads (stream and $all reads alike). */
export interface EsdbRecord {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly created: Date;
  readonly position?: EsdbPosition;
}

/**
 * The port's stream read options in the client's terms (as the PostgreSQL adapter reads them: a negative
 * `fromRevision` reads forwards from the start and backwards nothing; `maxCount: 0` reads nothing).
 * Null when no event can come back, so there is nothing to ask.
 */
export function planStreamRead(options: ReadStreamOptions = {}): EsdbReadStreamOptions | null {
  const { fromRevision, maxCount } = options;
  if (fromRevision !== undefined && !Number.isSafeInteger(fromRevision))
    throw new RangeError(`fromRevision must be an integer, got ${fromRevision}`);
  if (maxCount !== undefined && (!Number.isSafeInteger(maxCount) || maxCount < 0)) {
    throw new RangeError(`maxCount must be a non-negative integer, got ${maxCount}`);
  }
  const backwards = options.direction === 'backwards';
  if (maxCount === 0 || (backwards && fromRevision !== undefined && fromRevision < 0)) return null;
  const start = fromRevision === undefined || fromRevision < 0 ? (backwards ? END : START) : BigInt(fromRevision);
  return { direction: backwards ? BACKWARDS : FORWARDS, fromRevision: start, ...(maxCount !== undefined ? { maxCount } : {}) };
}

/** EventStoreDB's own events (`$`-prefixed types, or any event in a `$` stream), never the domain's. */
export function isSystemEvent(event: { readonly streamId: string; readonly type: string }): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$') || event.streamId.startsWith(CLAIM_STREAM_PREFIX);
}

// ---------------------------------------------------------------------------------------------
// Idempotency-Key claims

/** Claim streams are the adapter's own bookkeeping: reads, subscriptions and the head skip them. */
const CLAIM_STREAM_PREFIX = 'idempotency-';
const CLAIM_EVENT_TYPE = 'IdempotencyKeyClaimed';

/** What a claim event records (the claim stream's last event is the live claim). */
export interface ClaimRecord {
  readonly orgId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly streamId: string;
  /** Id of the claiming request's first event (claims written before this field have none). */
  readonly firstEventId?: string;
  /** Revision the claiming request's first event takes under an exact expectation; null otherwise. */
  readonly at?: number | null;
}

/** How many of a stream's last events are searched for a claim's first event when its place is unknown. */
export const CLAIM_LANDED_WINDOW = 64;

/** Reads a stored claim event's data; undefined for anything that is not one. */
export function readClaimRecord(data: unknown): ClaimRecord | undefined {
  if (!isPlainObject(data)) return undefined;
  const { orgId, key, requestHash, streamId, firstEventId, at } = data;
  if (typeof orgId !== 'string' || typeof key !== 'string' || typeof requestHash !== 'string' || typeof streamId !== 'string') {
    return undefined;
  }
  return {
    orgId,
    key,
    requestHash,
    streamId,
    ...(typeof firstEventId === 'string' ? { firstEventId } : {}),
    at: typeof at === 'number' && Number.isSafeInteger(at) ? at : null,
  };
}

/**
 * What to do with a claim found held: `own` (this request's: go on and append), `take_over` (another
 * request's whose events never landed, older than the takeover age: PostgreSQL, whose claim and append
 * commit together, would accept this request, so write a new claim over it), or `refuse`. The age keeps
 * a claim whose request is still between claiming and appending from being taken from under it.
 */
export function decideClaim(
  stored: ClaimRecord | undefined,
  claim: IdempotencyClaim,
  streamId: string,
  found: { readonly landed: boolean; readonly ageMs: number; readonly takeoverAfterMs: number },
): 'own' | 'take_over' | 'refuse' {
  if (stored && claimMatches(stored, claim, streamId)) return 'own';
  if (!stored) return 'take_over';
  return !found.landed && found.ageMs >= found.takeoverAfterMs ? 'take_over' : 'refuse';
}

/** The stream that holds the claims of (org, key): the first written with `no_stream`, takeovers after it. */
export function claimStreamName(orgId: string, key: string): string {
  return `${CLAIM_STREAM_PREFIX}${orgId}-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** The claim event appended to {@link claimStreamName}. */
export function claimEvent(record: ClaimRecord): EsdbEventData {
  return jsonEvent({ id: randomUUID(), type: CLAIM_EVENT_TYPE, data: { ...record } });
}

/**
 * The server refused a batch larger than its maximum append size (`EVENTSTORE_MAX_APPEND_SIZE`, 1 MiB by
 * default); nothing was written. Split the batch or raise the server's limit.
 */
export class AppendTooLargeError extends Error {
  override name = 'AppendTooLargeError';
  constructor(
    readonly streamId: string,
    readonly eventCount: number,
    readonly maxAppendSize: number,
  ) {
    super(
      `append of ${eventCount} event(s) to ${streamId} exceeds the EventStoreDB server's maximum append size of ${maxAppendSize} bytes ` +
        '(EVENTSTORE_MAX_APPEND_SIZE, 1 MiB by default); nothing was written',
    );
  }
}

/** Whether a stored claim is this request's own (same fingerprint, same target stream). */
export function claimMatches(stored: unknown, claim: IdempotencyClaim, streamId: string): boolean {
  if (!isPlainObject(stored)) return false;
  return stored.key === claim.key && stored.requestHash === claim.requestHash && stored.streamId === streamId;
}

/**
 * Parses a stored event: metadata (less `hash`) against the catalog's metadata schema, data through
 * `readEventData` (upcasting). Anything unreadable is an {@link InvalidEventError}.
 */
export function toRecordedEvent(record: EsdbRecord, raw = false, trusted = false): RecordedEvent {
  const where = `${record.streamId}@${record.revision}`;
  const hash = storedHash(record);
  if (raw) {
    // As stored: what the hash chain covers, before validation or upcasting (audit).
    return {
      streamId: record.streamId,
      revision: Number(record.revision),
      id: record.id,
      type: record.type,
      data: record.data,
      metadata: splitStoredMetadata(record.metadata).metadata,
      position: fromEsdbPosition(record.position) ?? UNKNOWN_POSITION,
      recordedAt: record.created,
      hash,
    } as unknown as RecordedEvent;
  }
  const parsed = eventMetadata.safeParse(splitStoredMetadata(record.metadata).metadata);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidEventError(`${where} ${record.type} metadata: ${issue.path.join('.')} ${issue.message}`);
  }
  let event;
  try {
    event = readEventData(record.type, parsed.data.schemaVersion, record.data, { trusted });
  } catch (error) {
    throw new InvalidEventError(`${where}: ${(error as Error).message}`);
  }
  return {
    streamId: record.streamId,
    revision: Number(record.revision),
    id: record.id,
    type: event.type,
    data: event.data,
    metadata: parsed.data,
    position: fromEsdbPosition(record.position) ?? UNKNOWN_POSITION,
    recordedAt: record.created,
    hash,
  } as RecordedEvent;
}

// ---------------------------------------------------------------------------------------------
// Filters

/** A regex matching exactly one of the values (for server-side event type filters). */
export function exactMatchRegex(values: readonly string[]): string {
  return `^(?:${values.map((v) => v.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')).join('|')})$`;
}

export type CheckpointReached = (subscription: AllStreamSubscription, position: EsdbPosition) => void | Promise<void>;

/**
 * The server-side part of a filter for `subscribeToAll`. The server filters on one thing only, so this
 * takes the stream prefixes if any, else the event types, else just excludes system events (which
 * still gets checkpoints sent); the rest (`orgId`, a second criterion) is applied client-side with
 * `matchesFilter` (src/eventstore/filter.ts). `checkpointInterval` multiplies the server's search window (32 events).
 */
export function serverFilter(filter: EventFilter | undefined, checkpointReached?: CheckpointReached, checkpointInterval = 1): Filter {
  const base = { checkpointInterval, ...(checkpointReached ? { checkpointReached } : {}) };
  if (filter?.streamPrefixes?.length) return streamNameFilter({ ...base, prefixes: [...filter.streamPrefixes] });
  if (filter?.eventTypes?.length) return eventTypeFilter({ ...base, regex: exactMatchRegex(filter.eventTypes) });
  return excludeSystemEvents(base);
}
