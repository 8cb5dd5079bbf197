import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../db/schema.ts';
import type { EventStore, Position, ReadAllPage } from '../eventstore/port.ts';
import { comparePositions, formatPosition } from '../eventstore/position.ts';
import { deleteCheckpoint, lockCheckpoint, readCheckpoint, saveCheckpoint, setCheckpoint } from '../subscriptions/checkpoints.ts';
import { clientDb, encodeTableRows, writeTableRows } from './bulk-write.ts';
import { type PendingRows, type Projection, pendingRowsOf } from './projection.ts';
import {
  bulkScratchIntact,
  createScratchTables,
  dropScratchSchema,
  fillScratch,
  finishBulkScratch,
  saveBulkProgress,
  scratchSchema,
} from './scratch.ts';

/** Progress of a rebuild, reported after every batch. */
export interface RebuildProgress {
  readonly projection: string;
  readonly handled: number;
  /** Events the projection will read in all (PostgreSQL store), if known. */
  readonly total: number | undefined;
  /** `indexing`: the loaded tables are made LOGGED and get their non-unique indexes. */
  readonly phase: 'building' | 'indexing' | 'swapping' | 'done';
}

/** Result of a rebuild. */
export interface RebuildResult {
  readonly projection: string;
  readonly events: number;
  readonly seconds: number;
  readonly resumed: boolean;
}

const rebuildCheckpoint = (projection: Projection) => `rebuild:${projection.name}`;

/** What a rebuild needs: the store to read, the database (and its pool, for COPY) to write. */
export interface RebuildDeps {
  readonly db: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly store: EventStore;
}

/**
 * Blue/green rebuild: replays every event of the projection into fresh tables in a scratch schema
 * (checkpointed per batch, so a crash or Ctrl-C resumes where it stopped and never touches the live
 * tables), then, in one transaction that holds the live projector's checkpoint, catches up the last
 * events and swaps the new tables in. Queries keep reading the old tables until that commit.
 *
 * For speed the scratch tables carry only their unique indexes while they load; the log is read without
 * validating again what `append` validated (`trusted`); each batch is folded in memory and written with
 * COPY (projections with a `fold`), while the next page of the log is already being read. Before the swap
 * the tables get their other indexes.
 */
export async function rebuildProjection(
  deps: RebuildDeps,
  projection: Projection,
  options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void; signal?: AbortSignal } = {},
): Promise<RebuildResult> {
  const started = Date.now();
  const batchSize = options.batchSize ?? 5000;
  const schema = scratchSchema('rebuild', projection);
  const name = rebuildCheckpoint(projection);
  const previous = await readCheckpoint(deps.db, name);
  const resumed = previous.position !== null && (await bulkScratchIntact(deps.db, schema, previous.position));
  if (!resumed) {
    // Nothing to resume, or the scratch tables do not hold what the checkpoint says (a server crash empties
    // the UNLOGGED ones an earlier version made): start over.
    await deleteCheckpoint(deps.db, name);
    await dropScratchSchema(deps.db, schema);
  }
  await createScratchTables(deps.db, schema, projection, { bulk: true });

  const total = await countEvents(deps, projection);
  let handled = resumed ? previous.eventsHandled : 0;
  const report = (phase: RebuildProgress['phase']) => options.onProgress?.({ projection: projection.name, handled, total, phase });
  report('building');
  await bulkFill(deps, projection, schema, name, {
    batchSize,
    ...(options.signal && { signal: options.signal }),
    onBatch: (n) => {
      handled += n;
      report('building');
    },
  });
  if (options.signal?.aborted) throw new Error('rebuild interrupted; run it again to resume');
  report('indexing');
  await finishBulkScratch(deps.db, schema, projection);
  if (options.signal?.aborted) throw new Error('rebuild interrupted; run it again to resume');

  report('swapping');
  await deps.db.transaction().execute(async (trx) => {
    // Holding the live checkpoint stops the live projector between batches for the swap.
    await lockCheckpoint(trx, projection.name);
    const last = await fillScratch(deps, projection, schema, name, { batchSize, trx, onBatch: (n) => (handled += n) });
    for (const table of projection.tables) {
      await sql`drop table ${sql.id('public', table)}`.execute(trx);
      await sql`alter table ${sql.id(schema, table)} set schema public`.execute(trx);
    }
    await setCheckpoint(trx, projection.name, last.position);
    await deleteCheckpoint(trx, name);
    await dropScratchSchema(trx, schema);
  });
  report('done');
  return { projection: projection.name, events: handled, seconds: (Date.now() - started) / 1000, resumed };
}

/**
 * Loads the scratch tables from the rebuild checkpoint to the store's visible head, one transaction per
 * batch on one held connection (COPY of the rows folded and encoded before, or `apply`), moving the
 * checkpoint and the scratch tables' own copy of it with the rows. Meanwhile the next page is read on
 * another connection and (projections with a `fold`) folded and encoded, reading what the batch being
 * written holds from its rows (`pending`) and the rest from the tables.
 */
async function bulkFill(
  deps: RebuildDeps,
  projection: Projection,
  schema: string,
  checkpointName: string,
  options: { batchSize: number; onBatch: (applied: number) => void; signal?: AbortSignal },
): Promise<void> {
  const client = await deps.pool.connect();
  const db = clientDb(client);
  const scratch = deps.db.withSchema(schema);
  let writing: Promise<void> | undefined;
  try {
    // Where the checkpoint is once the batch being written commits.
    let written = await db.transaction().execute(async (trx) => (await lockCheckpoint(trx, checkpointName)).position);
    const read = (after: Position | null) =>
      deps.store.readAll({ from: after, limit: options.batchSize, filter: projection.filter, trusted: true });
    let reading: Promise<ReadAllPage> | undefined = read(written);
    let pending: PendingRows | undefined;
    while (reading && !options.signal?.aborted) {
      const page: ReadAllPage = await reading;
      const next = page.checkpoint;
      const more = page.events.length === options.batchSize;
      reading = more ? read(next) : undefined;
      // A rejected read-ahead must not go unhandled while this batch is folded and written.
      reading?.catch(() => {});
      if (!next || comparePositions(next, written) <= 0) continue;
      const rows = projection.fold && page.events.length ? await projection.fold(scratch, page.events, pending) : undefined;
      const encoded = rows && encodeTableRows(rows);
      await writing;
      const from = written;
      writing = db.transaction().execute(async (trx) => {
        const current = await lockCheckpoint(trx, checkpointName);
        if (comparePositions(current.position, from) !== 0) {
          throw new Error(
            `another rebuild of ${projection.name} moved its checkpoint to ${current.position ? formatPosition(current.position) : 'the start'}; run one at a time`,
          );
        }
        if (encoded) await writeTableRows(client, trx, schema, encoded);
        else if (page.events.length) await projection.apply(trx.withSchema(schema), page.events, trx);
        await saveCheckpoint(trx, checkpointName, next, page.events.length);
        await saveBulkProgress(trx, schema, next);
        options.onBatch(page.events.length);
      });
      // Awaited before the next write (or below); a failure must not go unhandled while the next batch folds.
      writing.catch(() => {});
      pending = rows && pendingRowsOf(rows);
      written = next;
      // `apply` reads the tables in its transaction: it waits for the batch before it.
      if (!projection.fold) await writing;
    }
    await writing;
    await reading;
  } finally {
    await writing?.catch(() => {});
    await db.destroy();
    client.release();
  }
}

/** Number of events a projection reads, for progress and ETA (PostgreSQL store only). */
async function countEvents(deps: RebuildDeps, projection: Projection): Promise<number | undefined> {
  if (deps.store.kind !== 'postgres') return undefined;
  const prefixes = projection.filter.streamPrefixes ?? [''];
  const types = projection.filter.eventTypes;
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from es_events
     where stream_id like any(${prefixes.map((p) => `${p}%`)}::text[])
       ${types?.length ? sql`and event_type = any(${[...types]}::text[])` : sql``}`.execute(deps.db);
  return Number(rows[0]?.n ?? 0);
}
