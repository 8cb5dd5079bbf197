import {
  AccessDeniedError,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  InvalidArgumentError,
  isCommandError,
  NO_STREAM,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  UnsupportedError,
  WrongExpectedVersionError,
  type ReadPosition,
  type StreamingRead,
} from '@eventstore/db-client';
import { GENESIS_HASH } from '../../domain/events/index.ts';
import { prepareEvents } from '../append-input.ts';
import {
  type AppendOptions,
  type AppendResult,
  type EventFilter,
  type EventStore,
  type EventToAppend,
  type IdempotencyClaim,
  IdempotencyKeyClaimedError,
  type Position,
  type ReadAllOptions,
  type ReadAllPage,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type SubscriptionBatch,
  WrongExpectedRevisionError,
} from '../port.ts';
import { comparePositions } from '../position.ts';
import { BatchBuilder } from './batcher.ts';
import { SubscriptionFeed } from './feed.ts';
import { sleep } from '../../sleep.ts';
import {
  appendRetryDelayMs,
  assertExpectedRevision,
  chainEvents,
  claimEvent,
  claimMatches,
  claimStreamName,
  decideAppend,
  fromEsdbPosition,
  isSystemEvent,
  matchesFilter,
  normaliseConnectionString,
  planStreamRead,
  resubscribeDelayMs,
  serverFilter,
  storedHash,
  type StreamState,
  toEventData,
  toReadPosition,
  toRecordedEvent,
  toWrongExpectedRevision,
  UNKNOWN_POSITION,
} from './mapping.ts';

/** Tuning of {@link EsdbEventStore}; every field has a default. */
export interface EsdbTuning {
  /** A partial subscription batch is handed over after this long without a new event (ms, default 20). */
  readonly flushDelayMs?: number;
  /** ...and at the latest this long after its first event (ms, default 200). */
  readonly maxBatchDelayMs?: number;
  /** Attempts of an `any`/`stream_exists` append that keeps losing races (default 50). */
  readonly maxAppendAttempts?: number;
  /** Server checkpoint interval multiplier of filtered subscriptions (default 1: every 32 events read). */
  readonly checkpointInterval?: number;
}

/** Options of {@link EsdbEventStore}: a connection string (the store owns and disposes the client) or a client. */
export type EsdbEventStoreOptions = EsdbTuning & ({ readonly connectionString: string } | { readonly client: EventStoreDBClient });

/** The subscription ended without being asked to; the subscribe loop resubscribes. */
class SubscriptionDroppedError extends Error {
  override name = 'SubscriptionDroppedError';
}

/**
 * The EventStoreDB adapter of the {@link EventStore} port (client `@eventstore/db-client` 6.x, server 22.6+;
 * 23.10+ for `live` batches).
 *
 * - The hash chain is kept client-side: each event's metadata carries `prevHash` and its own `hash`. An
 *   append reads the stream's tail, links the batch onto the tail's hash and writes with the tail's exact
 *   revision, so a concurrent append makes the server refuse and the append re-reads (`any` and
 *   `stream_exists` retry, `no_stream` and an exact revision report the conflict).
 * - Idempotency: before writing, the stream is scanned (backwards) for the batch's first event id; the
 *   same ids at an allowed place are a duplicate (nothing written), anything else reusing it a conflict.
 *   That scan reads the whole stream when the id is not there, so appends cost O(stream length): fine
 *   for the short aggregate streams of DESIGN.md, not for huge streams.
 * - An append with a `claim` first writes the claim stream of (org, key) with `no_stream` (or finds its own
 *   claim there), then appends; claim streams are bookkeeping that reads, subscriptions and the head skip.
 * - Positions are the $all commit/prepare positions of the events as reads and subscriptions see them.
 * - `readAll` filters client-side (the 6.x client sends no filter with `readAll`); `subscribe` filters
 *   server-side (stream prefixes, else event types, else excluding system events) and completes the
 *   filter client-side, with the server's `checkpointReached` moving checkpoints over filtered gaps.
 */
export class EsdbEventStore implements EventStore {
  readonly kind = 'esdb';
  readonly #client: EventStoreDBClient;
  readonly #ownsClient: boolean;
  readonly #flushDelayMs: number;
  readonly #maxBatchDelayMs: number;
  readonly #maxAppendAttempts: number;
  readonly #checkpointInterval: number;
  readonly #shutdown = new AbortController();

  constructor(target: EsdbEventStoreOptions | EventStoreDBClient) {
    const options: EsdbEventStoreOptions = target instanceof EventStoreDBClient ? { client: target } : target;
    if ('client' in options) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      this.#client = EventStoreDBClient.connectionString(normaliseConnectionString(options.connectionString));
      this.#ownsClient = true;
    }
    this.#flushDelayMs = options.flushDelayMs ?? 20;
    this.#maxBatchDelayMs = options.maxBatchDelayMs ?? 200;
    this.#maxAppendAttempts = Math.max(1, options.maxAppendAttempts ?? 50);
    this.#checkpointInterval = Math.max(1, options.checkpointInterval ?? 1);
  }

  async append(streamId: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult> {
    const prepared = prepareEvents(streamId, events);
    const expected = options.expectedRevision;
    assertExpectedRevision(expected);
    // Claim, then append. A crash in between leaves a claim without events; the retry of the same request
    // finds its own claim and appends (its event ids are deterministic), any other request is refused.
    if (options.claim) await this.#claim(prepared[0]!.metadata.orgId, options.claim, streamId);
    const ids = prepared.map((e) => e.id);
    // A lost race under an exact expectation is re-read once, only to tell a concurrent identical retry
    // (a duplicate) from a real conflict; `any`/`stream_exists` keep re-reading and re-linking.
    const attempts = typeof expected === 'number' || expected === 'no_stream' ? 2 : this.#maxAppendAttempts;
    for (let attempt = 1; ; attempt++) {
      const state = await this.#inspect(streamId, ids);
      const decision = decideAppend(expected, state, ids);
      if (decision.kind === 'duplicate') {
        return { nextRevision: decision.nextRevision, position: decision.position ?? UNKNOWN_POSITION, duplicate: true };
      }
      if (decision.kind === 'conflict') throw new WrongExpectedRevisionError(streamId, expected, decision.actual);
      try {
        const result = await this.#client.appendToStream(streamId, chainEvents(prepared, decision.prevHash).map(toEventData), {
          expectedRevision: decision.expectedRevision,
        });
        if (!result.success) {
          // only with `throwOnAppendFailure=false` in the connection string: the same lost race
          const current = result.nextExpectedRevision;
          throw new WrongExpectedVersionError(undefined, {
            streamName: streamId,
            expected: decision.expectedRevision,
            current: current < 0n ? 'no_stream' : current,
          });
        }
        const nextRevision = Number(result.nextExpectedRevision);
        // The append result carries the write's commit position as both halves (KurrentDB's WriteEvents),
        // which need not be the last event's $all position: read that back so it matches readAll/subscribe.
        // The events are written either way, so a failed read-back falls back to the result's position.
        const readBack = await this.#positionAt(streamId, nextRevision).catch(() => undefined);
        const position = readBack ?? fromEsdbPosition(result.position) ?? UNKNOWN_POSITION;
        return { nextRevision, position, duplicate: false };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (attempt >= attempts) throw toWrongExpectedRevision(error, streamId, expected);
        if (attempts > 2) await sleep(appendRetryDelayMs(attempt));
      }
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const request = planStreamRead(options);
    if (!request) return [];
    let resolved;
    try {
      resolved = await collect(this.#client.readStream(streamId, request));
    } catch (error) {
      // The client throws for a stream without events; the port answers with no events.
      if (isStreamGone(error)) return [];
      throw error;
    }
    return resolved.flatMap((r) => (r.event ? [toRecordedEvent(r.event, options.raw)] : []));
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const limit = options.limit ?? 500;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    const from = options.from ?? null;
    const events: RecordedEvent[] = [];
    let scanned: Position | null = from;
    if (limit === 0) return { events, checkpoint: from };
    // $all reads start at `from` inclusive; the event at `from` (and anything before) is skipped below.
    const chunk = Math.min(Math.max(limit + 1, 256), 4096);
    for (;;) {
      const page = await collect(this.#client.readAll({ fromPosition: toReadPosition(scanned), maxCount: chunk, direction: FORWARDS }));
      let progressed = false;
      for (const { event: record } of page) {
        if (!record) continue;
        const position = fromEsdbPosition(record.position);
        if (!position) throw new Error(`$all event ${record.streamId}@${record.revision} came without a position`);
        if (comparePositions(position, scanned) <= 0) continue;
        scanned = position;
        progressed = true;
        if (isSystemEvent(record) || !matchesFilter(options.filter, record)) continue;
        events.push(toRecordedEvent(record, options.raw, options.trusted));
        if (events.length >= limit) return { events, checkpoint: scanned };
      }
      if (page.length < chunk || !progressed) return { events, checkpoint: scanned };
    }
  }

  async *subscribe(options: SubscribeOptions = {}): AsyncIterable<SubscriptionBatch> {
    const signal = options.signal ? AbortSignal.any([options.signal, this.#shutdown.signal]) : this.#shutdown.signal;
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
    const builder = new BatchBuilder(options.from ?? null, batchSize, options.filter);
    const log = { last: null as Position | null };
    let failures = 0;
    while (!signal.aborted) {
      const feed = this.#openFeed(builder.resumeFrom, options.filter, batchSize);
      builder.live = false;
      let lastItemAt = Date.now();
      let progressSince: number | undefined;
      const flushWait = (): number | undefined => {
        if (!builder.hasProgress) {
          progressSince = undefined;
          return undefined;
        }
        const now = Date.now();
        progressSince ??= now;
        return Math.max(0, Math.min(lastItemAt + this.#flushDelayMs, progressSince + this.#maxBatchDelayMs) - now);
      };
      try {
        for (;;) {
          const item = await feed.next(flushWait(), signal);
          if (item === 'aborted') return;
          let batch: SubscriptionBatch | null = null;
          if (item === 'timeout') {
            batch = builder.take();
          } else {
            lastItemAt = Date.now();
            switch (item.kind) {
              case 'event':
                failures = 0;
                builder.receive(item.record);
                if (builder.full) batch = builder.take();
                break;
              case 'checkpoint':
                // On its own a checkpoint is an empty batch; with events waiting it becomes their checkpoint.
                if ((await this.#adoptCheckpoint(builder, item.position, log)) && !builder.hasPending) batch = builder.take();
                break;
              case 'caughtUp':
                failures = 0;
                builder.live = true;
                batch = builder.take();
                break;
              case 'fellBehind':
                builder.live = false;
                break;
              case 'error':
                throw item.error;
              case 'end':
                throw new SubscriptionDroppedError('the $all subscription ended');
            }
          }
          if (batch) yield batch;
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal may abort while the loop awaits
          if (signal.aborted) return;
        }
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal may abort while the loop awaits
        if (signal.aborted) return;
        if (!isTransient(error)) throw error;
        failures++;
        await sleep(resubscribeDelayMs(failures), signal);
      } finally {
        await feed.close();
      }
    }
  }

  async headPosition(): Promise<Position | null> {
    const pageSize = 64;
    let cursor: ReadPosition = END;
    let lowest: Position | null = null;
    for (;;) {
      const page = await collect(this.#client.readAll({ fromPosition: cursor, maxCount: pageSize, direction: BACKWARDS }));
      let progressed = false;
      for (const { event: record } of page) {
        const position = fromEsdbPosition(record?.position);
        if (!record || !position || (lowest && comparePositions(position, lowest) >= 0)) continue;
        lowest = position;
        progressed = true;
        if (!isSystemEvent(record)) return position;
      }
      if (page.length < pageSize || !progressed || !lowest) return null;
      cursor = lowest;
    }
  }

  async close(): Promise<void> {
    this.#shutdown.abort();
    if (this.#ownsClient) await this.#client.dispose();
  }

  /**
   * Reads the stream backwards from its end: the tail's revision and hash, and whether the batch's first
   * id is already there (with the ids after it, and the position of the batch's would-be last event).
   */
  async #inspect(streamId: string, ids: readonly string[]): Promise<StreamState> {
    const first = ids[0]!.toLowerCase();
    const after = Math.max(0, ids.length - 1);
    const read = this.#client.readStream(streamId, { direction: BACKWARDS, fromRevision: END });
    let tail: { revision: number; hash: string } | undefined;
    // the last `after` events read, i.e. the revisions just above the one being looked at, highest first
    const window: { id: string; position: Position | undefined }[] = [];
    let drained = false;
    try {
      for await (const { event } of read) {
        if (!event) continue;
        tail ??= { revision: Number(event.revision), hash: storedHash(event) };
        const position = fromEsdbPosition(event.position);
        if (event.id.toLowerCase() === first) {
          const ids = [event.id, ...window.map((e) => e.id).reverse()];
          const lastPosition = after === 0 ? position : window.length === after ? window[0]!.position : undefined;
          return {
            revision: tail.revision,
            lastHash: tail.hash,
            match: { revision: Number(event.revision), ids, ...(lastPosition ? { lastPosition } : {}) },
          };
        }
        if (after > 0) {
          window.push({ id: event.id, position });
          if (window.length > after) window.shift();
        }
      }
      drained = true;
    } catch (error) {
      if (isStreamGone(error)) return { revision: -1, lastHash: GENESIS_HASH };
      throw error;
    } finally {
      // left early (found the id): stop the server sending the rest of the stream
      if (!drained) await read.cancel().catch(() => {});
    }
    return tail ? { revision: tail.revision, lastHash: tail.hash } : { revision: -1, lastHash: GENESIS_HASH };
  }

  /** Records (org, key) → (request, stream) once; throws {@link IdempotencyKeyClaimedError} when another request holds it. */
  async #claim(orgId: string, claim: IdempotencyClaim, streamId: string): Promise<void> {
    const claimStream = claimStreamName(orgId, claim.key);
    try {
      const result = await this.#client.appendToStream(
        claimStream,
        claimEvent({ orgId, key: claim.key, requestHash: claim.requestHash, streamId }),
        {
          expectedRevision: NO_STREAM,
        },
      );
      // `success` is false only with `throwOnAppendFailure=false`: the stream exists, as below
      if (result.success) return;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
    const [first] = await collect(this.#client.readStream(claimStream, { fromRevision: START, maxCount: 1 }));
    if (!claimMatches(first?.event?.data, claim, streamId)) throw new IdempotencyKeyClaimedError(orgId, claim.key);
  }

  /** $all position of the event at `revision` of a stream, as a stream read reports it (22.6+). */
  async #positionAt(streamId: string, revision: number): Promise<Position | undefined> {
    const [resolved] = await collect(this.#client.readStream(streamId, { fromRevision: BigInt(revision), maxCount: 1 }));
    return fromEsdbPosition(resolved?.event?.position);
  }

  /** Position of the last record in the log, system records included; null for an empty log. */
  async #lastRecordPosition(): Promise<Position | null> {
    const [resolved] = await collect(this.#client.readAll({ fromPosition: END, maxCount: 1, direction: BACKWARDS }));
    return fromEsdbPosition(resolved?.event?.position) ?? null;
  }

  /**
   * Takes a server checkpoint if it moves the subscription on. It is capped at the last record of the log:
   * some server versions have sent a checkpoint past the end, at the position the next event then takes
   * (KurrentDB#4970), and resuming from there would skip that event. `log.last` caches the last record
   * seen, so the log is only re-read when a checkpoint gets past it (once per catch-up, not per checkpoint).
   */
  async #adoptCheckpoint(
    builder: BatchBuilder,
    reported: { commit: bigint; prepare: bigint },
    log: { last: Position | null },
  ): Promise<boolean> {
    const position = fromEsdbPosition(reported);
    if (!position || comparePositions(position, builder.scanned) <= 0) return false;
    if (comparePositions(position, log.last) > 0) log.last = await this.#lastRecordPosition();
    return builder.checkpointReached(log.last && comparePositions(log.last, position) < 0 ? log.last : position);
  }

  #openFeed(from: Position | null, filter: EventFilter | undefined, batchSize: number): SubscriptionFeed {
    let feed: SubscriptionFeed | undefined;
    const subscription = this.#client.subscribeToAll({
      fromPosition: toReadPosition(from),
      filter: serverFilter(filter, (_subscription, position) => feed?.checkpoint(position), this.#checkpointInterval),
    });
    feed = new SubscriptionFeed(subscription, () => subscription.unsubscribe(), Math.max(2 * batchSize, 256));
    return feed;
  }
}

async function collect<T>(read: StreamingRead<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of read) out.push(item);
  return out;
}

function isStreamGone(error: unknown): boolean {
  return error instanceof StreamNotFoundError || error instanceof StreamDeletedError;
}

/**
 * Whether resubscribing may cure a subscription error: a drop, or a client error such as `UnavailableError`
 * or `DeadlineExceededError`. Refusals (access, arguments, unsupported) and anything raised by this adapter
 * (an unreadable event: {@link InvalidEventError}) end `subscribe` with the error instead.
 */
function isTransient(error: unknown): boolean {
  if (error instanceof SubscriptionDroppedError) return true;
  if (!(error instanceof Error) || !isCommandError(error)) return false;
  return !(error instanceof AccessDeniedError || error instanceof InvalidArgumentError || error instanceof UnsupportedError);
}
