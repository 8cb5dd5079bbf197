import pg from 'pg';
import { eventMetadata, readEventData, type EventMetadata } from '../../domain/events/index.ts';
import { type PreparedEvent, prepareEvents } from '../append-input.ts';
import {
  type AppendOptions,
  type AppendResult,
  type EventFilter,
  type EventStore,
  type EventToAppend,
  type IdempotencyClaim,
  type Position,
  type ReadAllOptions,
  type ReadAllPage,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type SubscriptionBatch,
  IdempotencyKeyClaimedError,
  WrongExpectedRevisionError,
} from '../port.ts';
import { comparePositions } from '../position.ts';
import { AppendNotifier } from './notifier.ts';
import { named } from '../../db/named-statement.ts';
import { sleep } from '../../sleep.ts';

/** Options of {@link PostgresEventStore}. */
export interface PostgresEventStoreOptions {
  /** Pool used for appends and reads. Not ended by `close()`. */
  readonly pool: pg.Pool;
  /** Connection string for the LISTEN connection that wakes subscribers. */
  readonly url: string;
  /** Backup poll interval of live subscriptions, in ms. */
  readonly pollIntervalMs?: number;
  /** Validate stored metadata on read (default true). */
  readonly validateOnRead?: boolean;
  /** Most appends committed together (group commit; default and ceiling {@link MAX_BATCH}, 1: none). */
  readonly maxBatch?: number;
}

/**
 * Ceiling of a group commit. Each append of a batch runs in a subtransaction; past 64 in one transaction
 * PostgreSQL's snapshots get slower for every session, so stay well below.
 */
export const MAX_BATCH = 32;

/** One append on its way to the database. */
interface PendingAppend {
  readonly streamId: string;
  readonly code: number;
  readonly prepared: PreparedEvent[];
  readonly claim: IdempotencyClaim | undefined;
}

interface QueuedAppend extends PendingAppend {
  resolve(row: AppendRow): void;
  reject(error: unknown): void;
}

interface AppendRow {
  r_status: string;
  r_revision: string;
  r_commit: string;
  r_position: string;
}

/** Errors after which the server rolled the whole transaction back, so each append may simply go again. */
function isRolledBack(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === '40P01' ||
    code === '40001' ||
    code === 'CS409' ||
    code === 'CS422' ||
    (typeof code === 'string' && /^(22|23|42|P0)/.test(code))
  );
}

const EXPECTED_CODES = { no_stream: -1, any: -2, stream_exists: -3 } as const;

/** First and longest pause of a live subscription before it reads again after a read that found nothing new. */
const REREAD_BACKOFF_MS = 5;
const REREAD_BACKOFF_MAX_MS = 50;

interface EventRow {
  kind?: string;
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  hash: string;
  recorded_at: Date;
}

const COLUMNS =
  'global_position, transaction_id, stream_id, stream_revision, event_id, event_type, schema_version, data, metadata, hash, recorded_at';

/** The PostgreSQL adapter of the {@link EventStore} port (tables and `es_append` from migration 001). */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #notifier: AppendNotifier;
  readonly #pollIntervalMs: number;
  readonly #validate: boolean;
  readonly #maxBatch: number;
  #queue: QueuedAppend[] = [];

  constructor(options: PostgresEventStoreOptions) {
    this.#pool = options.pool;
    this.#notifier = new AppendNotifier(options.url);
    this.#pollIntervalMs = options.pollIntervalMs ?? 500;
    this.#validate = options.validateOnRead ?? true;
    this.#maxBatch = Math.max(1, Math.min(options.maxBatch ?? MAX_BATCH, MAX_BATCH));
  }

  async append(streamId: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult> {
    const prepared = prepareEvents(streamId, events);
    const expected = options.expectedRevision;
    const code = typeof expected === 'number' ? expected : EXPECTED_CODES[expected];
    if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) {
      throw new RangeError(`expected revision must be a non-negative integer, got ${expected}`);
    }
    try {
      const row = await this.#submit({ streamId, code, prepared, claim: options.claim });
      if (row.r_status !== 'duplicate') this.#notifier.announce(this.#pool);
      return {
        nextRevision: Number(row.r_revision),
        position: { commit: BigInt(row.r_commit), prepare: BigInt(row.r_position) },
        duplicate: row.r_status === 'duplicate',
      };
    } catch (error) {
      const pgError = error as { code?: string; detail?: string };
      if (pgError.code === 'CS409') throw new WrongExpectedRevisionError(streamId, expected, Number(pgError.detail));
      if (pgError.code === 'CS422') throw new IdempotencyKeyClaimedError(prepared[0]!.metadata.orgId, options.claim!.key);
      throw error;
    }
  }

  /**
   * Group commit: appends submitted while the event loop is busy go out together at its next turn, as
   * one `es_append_batch` statement per {@link MAX_BATCH} (a lone one as plain `es_append`).
   */
  #submit(append: PendingAppend): Promise<AppendRow> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...append, resolve, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queued.length; i += this.#maxBatch) {
      const batch = queued.slice(i, i + this.#maxBatch);
      void (batch.length === 1 ? this.#appendOne(batch[0]!) : this.#appendBatch(batch));
    }
  }

  async #appendOne(item: QueuedAppend): Promise<void> {
    const { streamId, code, prepared, claim } = item;
    try {
      // With a claim, the key is recorded in the same statement (and so the same transaction) as the events.
      const result = await this.#pool.query<AppendRow>(
        named(
          claim
            ? 'select * from es_append_claimed($10, $11, $1, $2, $3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::text[], $9::uuid)'
            : 'select * from es_append($1, $2, $3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::text[], $9::uuid)',
          [
            streamId,
            code,
            prepared.map((e) => e.id),
            prepared.map((e) => e.type),
            prepared.map((e) => e.schemaVersion),
            prepared.map((e) => JSON.stringify(e.data)),
            prepared.map((e) => JSON.stringify(e.metadata)),
            prepared.map((e) => e.digest),
            prepared[0]!.metadata.orgId,
            ...(claim ? [claim.key, claim.requestHash] : []),
          ],
        ),
      );
      item.resolve(result.rows[0]!);
    } catch (error) {
      item.reject(error);
    }
  }

  async #appendBatch(batch: QueuedAppend[]): Promise<void> {
    // Row locks in one order (by stream) so that two batches never wait on each other in a cycle.
    const ordered = [...batch].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
    const payload = ordered.map(({ streamId, code, prepared, claim }) => ({
      stream: streamId,
      expected: code,
      ids: prepared.map((e) => e.id),
      types: prepared.map((e) => e.type),
      versions: prepared.map((e) => e.schemaVersion),
      data: prepared.map((e) => e.data),
      meta: prepared.map((e) => e.metadata),
      digests: prepared.map((e) => e.digest),
      org: prepared[0]!.metadata.orgId,
      ...(claim && { key: claim.key, requestHash: claim.requestHash }),
    }));
    let rows: (AppendRow & { r_index: number; r_detail: string | null })[];
    try {
      rows = (
        await this.#pool.query<AppendRow & { r_index: number; r_detail: string | null }>(
          named('select * from es_append_batch($1::jsonb)', [JSON.stringify(payload)]),
        )
      ).rows;
    } catch (error) {
      // Nothing of the batch committed: a failure of one append (or a deadlock) must not fail the others.
      if (isRolledBack(error)) for (const item of ordered) void this.#appendOne(item);
      else for (const item of ordered) item.reject(error);
      return;
    }
    for (const row of rows) {
      const item = ordered[row.r_index]!;
      if (row.r_status === 'appended' || row.r_status === 'duplicate') item.resolve(row);
      else
        item.reject(
          Object.assign(new Error(`append to ${item.streamId} refused`), { code: row.r_status, detail: row.r_detail ?? undefined }),
        );
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const params: unknown[] = [streamId];
    let where = 'stream_id = $1';
    if (options.fromRevision !== undefined) {
      params.push(options.fromRevision);
      where += backwards ? ` and stream_revision <= $${params.length}` : ` and stream_revision >= $${params.length}`;
    }
    let limit = '';
    if (options.maxCount !== undefined) {
      params.push(options.maxCount);
      limit = ` limit $${params.length}`;
    }
    const { rows } = await this.#pool.query<EventRow>(
      named(`select ${COLUMNS} from es_events where ${where} order by stream_revision ${backwards ? 'desc' : 'asc'}${limit}`, params),
    );
    return rows.map((row) => this.#toRecorded(row, options.raw));
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const limit = options.limit ?? 500;
    const { text, values } = readAllStatement(options);
    // Not named when filtered by org: which index fits depends on the org, and a generic plan, blind to
    // it, may walk the whole log in order (a plan per call is cheaper than that).
    const { rows } = await this.#pool.query<EventRow>(options.filter?.orgId ? { text, values } : named(text, values));
    const events: RecordedEvent[] = [];
    let head: Position | null = null;
    for (const row of rows) {
      if (row.kind === 'head') head = { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) };
      else events.push(this.#toRecorded(row, options.raw, options.trusted));
    }
    const last = events.at(-1)?.position ?? null;
    let checkpoint: Position | null = events.length === limit ? last : head;
    if (comparePositions(checkpoint, options.from ?? null) < 0) checkpoint = options.from ?? null;
    if (comparePositions(checkpoint, last) < 0) checkpoint = last;
    return { events, checkpoint };
  }

  async *subscribe(options: SubscribeOptions = {}): AsyncIterable<SubscriptionBatch> {
    const batchSize = options.batchSize ?? 500;
    const signal = options.signal;
    let checkpoint: Position | null = options.from ?? null;
    const listener = this.#notifier.listen();
    let fruitless = 0;
    try {
      await listener.ready;
      while (!signal?.aborted) {
        // Arm the wake-up before reading so a commit between the read and the wait is not missed.
        const woken = listener.next(this.#pollIntervalMs, signal);
        const page = await this.readAll({ from: checkpoint, limit: batchSize, filter: options.filter });
        const live = page.events.length < batchSize;
        if (page.checkpoint && comparePositions(page.checkpoint, checkpoint) > 0) {
          fruitless = 0;
          checkpoint = page.checkpoint;
          yield { events: page.events, checkpoint, live };
        } else {
          fruitless++;
        }
        if (live) {
          await woken;
          // Woken but nothing became visible: an older transaction still open anywhere on the server holds
          // the horizon back, and reading again at every notification would repeat the same empty read.
          if (fruitless) await sleep(Math.min(REREAD_BACKOFF_MS * 2 ** (fruitless - 1), REREAD_BACKOFF_MAX_MS), signal);
        }
      }
    } finally {
      listener.close();
    }
  }

  async headPosition(): Promise<Position | null> {
    const { rows } = await this.#pool.query<{ transaction_id: string; global_position: string }>(
      `select transaction_id, global_position from es_events
        where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        order by transaction_id desc, global_position desc limit 1`,
    );
    const row = rows[0];
    return row ? { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) } : null;
  }

  async newestPosition(): Promise<Position | null> {
    // Committed or not yet visible to subscribers: the newest row (es_events_order makes it one index step).
    const { rows } = await this.#pool.query<{ transaction_id: string; global_position: string }>(
      'select transaction_id, global_position from es_events order by transaction_id desc, global_position desc limit 1',
    );
    const row = rows[0];
    return row ? { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) } : null;
  }

  async close(): Promise<void> {
    await this.#notifier.close();
  }

  #toRecorded(row: EventRow, raw = false, trusted = false): RecordedEvent {
    const event = raw ? { type: row.event_type, data: row.data } : readEventData(row.event_type, row.schema_version, row.data, { trusted });
    const metadata = (this.#validate && !raw && !trusted ? eventMetadata.parse(row.metadata) : row.metadata) as EventMetadata;
    return {
      streamId: row.stream_id,
      revision: Number(row.stream_revision),
      id: row.event_id,
      type: event.type,
      data: event.data,
      metadata,
      position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.global_position) },
      recordedAt: row.recorded_at,
      hash: row.hash,
    } as RecordedEvent;
  }
}

/** The one statement of `readAll` (exported for the bench's EXPLAIN of the org-filtered read). */
export function readAllStatement(options: Pick<ReadAllOptions, 'from' | 'limit' | 'filter'>): { text: string; values: unknown[] } {
  const from = options.from ?? { commit: 0n, prepare: 0n };
  const values: unknown[] = [from.commit.toString(), from.prepare.toString(), options.limit ?? 500];
  const conditions = filterConditions(options.filter, values);
  // One statement, one snapshot: the page and the visible head agree on the same xmin.
  const text = `with snap as materialized (select pg_snapshot_xmin(pg_current_snapshot()) as xmin)
       (select 'event' as kind, ${COLUMNS} from es_events, snap
         where (transaction_id, global_position) > ($1::xid8, $2::bigint) and transaction_id < snap.xmin${conditions}
         order by transaction_id, global_position limit $3)
       union all
       (select 'head' as kind, ${COLUMNS} from es_events, snap
         where transaction_id < snap.xmin
         order by transaction_id desc, global_position desc limit 1)`;
  return { text, values };
}

function filterConditions(filter: EventFilter | undefined, params: unknown[]): string {
  let sql = '';
  if (filter?.streamPrefixes?.length) {
    params.push(filter.streamPrefixes.map((p) => `${p.replace(/[\\%_]/g, '\\$&')}%`));
    sql += ` and stream_id like any($${params.length}::text[])`;
  }
  if (filter?.eventTypes?.length) {
    params.push(filter.eventTypes);
    sql += ` and event_type = any($${params.length}::text[])`;
  }
  if (filter?.orgId) {
    params.push(filter.orgId);
    sql += ` and org_id = $${params.length}::uuid`;
  }
  return sql;
}
