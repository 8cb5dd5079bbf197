import {
  AccessDeniedError,
  BACKWARDS,
  END,
  KurrentDBClient,
  FORWARDS,
  InvalidArgumentError,
  isCommandError,
  MaxAppendSizeExceededError,
  NO_STREAM,
  StreamDeletedError,
  StreamNotFoundError,
  UnsupportedError,
  WrongExpectedVersionError,
  type AppendStreamState,
  type ReadPosition,
} from '@kurrent/kurrentdb-client';
import { GENESIS_HASH } from '../../domain/events/index.ts';
import { prepareEvents } from '../append-input.ts';
import {
  type AppendOptions,
  type AppendResult,
  type EventFilter,
  type ExpectedRevision,
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
  AppendTooLargeError,
  appendRetryDelayMs,
  assertExpectedRevision,
  chainEvents,
  CLAIM_LANDED_WINDOW,
  claimEvent,
  claimMatches,
  claimStreamName,
  type ClaimRecord,
  decideAppend,
  decideClaim,
  type EsdbRecord,
  expectedStart,
  findBatch,
  isRepeatOfAnother,
  fromEsdbPosition,
  isSystemEvent,
  normaliseConnectionString,
  planStreamRead,
  readClaimRecord,
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
import { matchesFilter } from '../filter.ts';

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
  /** Age after which another request may take over a claim whose events never landed (ms, default 10 000). */
  readonly claimTakeoverAfterMs?: number;
}

/** Options of {@link EsdbEventStore}: a connection string (the store owns and disposes the client) or a client. */
export type EsdbEventStoreOptions = EsdbTuning & ({ readonly connectionString: string } | { readonly client: KurrentDBClient });

/** A bounded stream read of {@link EsdbEventStore}'s append path. */
interface SomeEvents {
  readonly direction: typeof FORWARDS | typeof BACKWARDS;
  readonly fromRevision: bigint | typeof END;
  readonly maxCount: number;
}

/** The subscription ended without being asked to; the subscribe loop resubscribes. */
class SubscriptionDroppedError extends Error {
  override name = 'SubscriptionDroppedError';
}

/**
 * The EventStoreDB adapter of the {@link EventStore} port (client `@kurrent/kurrentdb-client` 1.x, the
 * successor of `@eventstore/db-client`; server 22.6+, 23.10+ for `live` batches, 24.10 for the append's
 * own position).
 *
 * - The hash chain is kept client-side: each event's metadata carries `prevHash` and its own `hash`. An
 *   append reads the stream's tail (its last events, as many as the batch has), links the batch onto the
 *   tail's hash and writes with the tail's exact revision, so a concurrent append makes the server refuse
 *   and the append re-reads (`any` and `stream_exists` retry, `no_stream` and an exact revision report
 *   the conflict).
 * - Idempotency: the same ids at an allowed place are a duplicate (nothing written), anything else reusing
 *   the first id a conflict. The batch is looked for at the stream's end and, under an exact expectation
 *   the stream has moved past, right after the expected revision, never in the whole stream: an
 *   `any`/`stream_exists` retry is recognised while its events are still the stream's last. A racing
 *   repeat the server answers with success is told by the stored last event's hash ({@link isRepeatOfAnother}).
 * - The append's position is the one the server returns; nothing is read back (save for that hash check,
 *   made only under a claim or when the server sent no position).
 * - An append with a `claim` first writes the claim stream of (org, key) with `no_stream` (or finds its own
 *   claim there; or takes over another request's claim whose events never landed, {@link decideClaim}),
 *   then appends; claim streams are bookkeeping that reads, subscriptions and the head skip.
 * - A batch over the server's maximum append size fails with {@link AppendTooLargeError}.
 * - Positions are the $all commit/prepare positions of the events as reads and subscriptions see them.
 * - `readAll` filters client-side; `subscribe` filters server-side (stream prefixes, else event types, else
 *   excluding system events) and completes the filter client-side, with the server's `checkpointReached`
 *   moving checkpoints over filtered gaps (every 32 events read: read-your-writes on a quiet store relies on
 *   the idle-checkpoint rule of `waitForCheckpoints`).
 */
export class EsdbEventStore implements EventStore {
  readonly kind = 'esdb';
  readonly #client: KurrentDBClient;
  readonly #ownsClient: boolean;
  readonly #flushDelayMs: number;
  readonly #maxBatchDelayMs: number;
  readonly #maxAppendAttempts: number;
  readonly #checkpointInterval: number;
  readonly #claimTakeoverAfterMs: number;
  readonly #shutdown = new AbortController();

  constructor(target: EsdbEventStoreOptions | KurrentDBClient) {
    const options: EsdbEventStoreOptions = target instanceof KurrentDBClient ? { client: target } : target;
    if ('client' in options) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      this.#client = KurrentDBClient.connectionString(normaliseConnectionString(options.connectionString));
      this.#ownsClient = true;
    }
    this.#flushDelayMs = options.flushDelayMs ?? 20;
    this.#maxBatchDelayMs = options.maxBatchDelayMs ?? 200;
    this.#maxAppendAttempts = Math.max(1, options.maxAppendAttempts ?? 50);
    this.#checkpointInterval = Math.max(1, options.checkpointInterval ?? 1);
    this.#claimTakeoverAfterMs = Math.max(0, options.claimTakeoverAfterMs ?? 10_000);
  }

  async append(streamId: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult> {
    const prepared = prepareEvents(streamId, events);
    const expected = options.expectedRevision;
    assertExpectedRevision(expected);
    const ids = prepared.map((e) => e.id);
    // Claim, then append. A crash in between leaves a claim without events; the retry of the same request
    // finds its own claim and appends (its event ids are deterministic); another request takes the claim
    // over once it is old enough and its events are not in the stream (decideClaim).
    if (options.claim) await this.#claim(prepared[0]!.metadata.orgId, options.claim, streamId, ids[0]!, expected);
    // A lost race under an exact expectation is re-read once, only to tell a concurrent identical retry
    // (a duplicate) from a real conflict; `any`/`stream_exists` keep re-reading and re-linking.
    const attempts = typeof expected === 'number' || expected === 'no_stream' ? 2 : this.#maxAppendAttempts;
    for (let attempt = 1; ; attempt++) {
      const state = await this.#inspect(streamId, ids, expected);
      const decision = decideAppend(expected, state, ids);
      if (decision.kind === 'duplicate') {
        return { nextRevision: decision.nextRevision, position: decision.position ?? UNKNOWN_POSITION, duplicate: true };
      }
      if (decision.kind === 'conflict') throw new WrongExpectedRevisionError(streamId, expected, decision.actual);
      const chained = chainEvents(prepared, decision.prevHash);
      try {
        const result = await this.#client.appendToStream(streamId, chained.map(toEventData), { streamState: decision.expectedRevision });
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
        const position = fromEsdbPosition(result.position);
        // The server answers success, writing nothing, when the events at the expected revision + 1 already
        // carry these ids: a racing identical retry got there first. Only then can the stored last event
        // differ from the one computed here (another request's clock and ids of the request), so its hash
        // is checked when the server sent no position (what it does for such a repeat) or a claim is held
        // (the Idempotency-Key retries that can race). Plain appends cost no read-back.
        if (options.claim || !position) {
          const stored = await this.#lastOf(streamId, nextRevision);
          if (isRepeatOfAnother(chained.at(-1)!.metadata.hash, stored?.hash)) {
            return { nextRevision, position: stored?.position ?? position ?? UNKNOWN_POSITION, duplicate: true };
          }
        }
        return { nextRevision, position: position ?? UNKNOWN_POSITION, duplicate: false };
      } catch (error) {
        if (error instanceof MaxAppendSizeExceededError) throw new AppendTooLargeError(streamId, events.length, error.maxAppendSize);
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

  /** EventStoreDB shows a write to readers once it is acknowledged: the newest event is the head. */
  newestPosition(): Promise<Position | null> {
    return this.headPosition();
  }

  async close(): Promise<void> {
    this.#shutdown.abort();
    if (this.#ownsClient) await this.#client.dispose();
  }

  /**
   * What an append needs to know before writing, reading only the stream's tail: the last `ids.length`
   * events backwards (the tail's revision and hash, and the batch itself when it is the stream's last
   * events). Under an exact expectation (`no_stream` is -1) that the stream has moved past, the
   * `ids.length` events right after the expected revision are read too: that is where a retry's events
   * sit. Under `any`/`stream_exists` a retry is recognised while its events are still the stream's last.
   */
  async #inspect(streamId: string, ids: readonly string[], expected: ExpectedRevision): Promise<StreamState> {
    const tail = await this.#readSome(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: ids.length });
    if (tail.length === 0) return { revision: -1, lastHash: GENESIS_HASH };
    const revision = Number(tail[0]!.revision);
    const lastHash = storedHash(tail[0]!);
    const at = expectedStart(expected);
    let window = [...tail].reverse();
    if (at !== undefined && at <= revision && Number(window[0]!.revision) > at) {
      window = await this.#readSome(streamId, { direction: FORWARDS, fromRevision: BigInt(at), maxCount: ids.length });
    }
    const match = findBatch(window, ids);
    return { revision, lastHash, ...(match ? { match } : {}) };
  }

  /** Up to `maxCount` events of a stream; none for a missing or deleted stream. */
  async #readSome(streamId: string, options: SomeEvents): Promise<EsdbRecord[]> {
    try {
      const read = await collect(this.#client.readStream(streamId, options));
      return read.flatMap((r) => (r.event ? [r.event] : []));
    } catch (error) {
      if (isStreamGone(error)) return [];
      throw error;
    }
  }

  /**
   * Records (org, key) → (request, stream) in the claim stream of (org, key); throws
   * {@link IdempotencyKeyClaimedError} when another request holds it. The live claim is the stream's last
   * event: a takeover appends a new one, expecting the revision it read, so of racing takers one wins.
   */
  async #claim(orgId: string, claim: IdempotencyClaim, streamId: string, firstEventId: string, expected: ExpectedRevision): Promise<void> {
    const claimStream = claimStreamName(orgId, claim.key);
    const record = { orgId, key: claim.key, requestHash: claim.requestHash, streamId, firstEventId, at: expectedStart(expected) ?? null };
    let streamState: AppendStreamState = NO_STREAM;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const result = await this.#client.appendToStream(claimStream, claimEvent(record), { streamState });
        // `success` is false only with `throwOnAppendFailure=false`: the stream moved, as below
        if (result.success) return;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
      const [last] = await this.#readSome(claimStream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
      if (!last) continue;
      const stored = readClaimRecord(last.data);
      const landed = stored && !claimMatches(stored, claim, streamId) ? await this.#claimLanded(stored) : true;
      const outcome = decideClaim(stored, claim, streamId, {
        landed,
        ageMs: Date.now() - last.created.getTime(),
        takeoverAfterMs: this.#claimTakeoverAfterMs,
      });
      if (outcome === 'own') return;
      if (outcome === 'refuse') throw new IdempotencyKeyClaimedError(orgId, claim.key);
      streamState = last.revision;
    }
    throw new IdempotencyKeyClaimedError(orgId, claim.key);
  }

  /** Whether the events of a stored claim are in its stream: its first event id at the revision it expected. */
  async #claimLanded(stored: ClaimRecord): Promise<boolean> {
    if (!stored.firstEventId) return true;
    const options: SomeEvents =
      stored.at === null || stored.at === undefined
        ? { direction: BACKWARDS, fromRevision: END, maxCount: CLAIM_LANDED_WINDOW }
        : { direction: FORWARDS, fromRevision: BigInt(stored.at), maxCount: 1 };
    const events = await this.#readSome(stored.streamId, options);
    return events.some((e) => e.id.toLowerCase() === stored.firstEventId!.toLowerCase());
  }

  /** The event at `revision` of a stream: its stored hash and $all position, when there. */
  async #lastOf(streamId: string, revision: number): Promise<{ hash: string; position: Position | undefined } | undefined> {
    const [event] = await this.#readSome(streamId, { direction: FORWARDS, fromRevision: BigInt(revision), maxCount: 1 });
    return event ? { hash: storedHash(event), position: fromEsdbPosition(event.position) } : undefined;
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

async function collect<T>(read: AsyncIterable<T>): Promise<T[]> {
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
