import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EventStore } from '../eventstore/port.ts';
import { lockCheckpoint, readCheckpoint } from '../subscriptions/checkpoints.ts';
import type { Projection } from './projection.ts';
import { createScratchTables, dropScratchSchema, fillScratch, scratchSchema } from './scratch.ts';

/** Progress of a rebuild, reported after every batch. */
export interface RebuildProgress {
  readonly projection: string;
  readonly handled: number;
  /** Events the projection will read in all (PostgreSQL store), if known. */
  readonly total: number | undefined;
  readonly phase: 'building' | 'swapping' | 'done';
}

/** Result of a rebuild. */
export interface RebuildResult {
  readonly projection: string;
  readonly events: number;
  readonly seconds: number;
  readonly resumed: boolean;
}

const rebuildCheckpoint = (projection: Projection) => `rebuild:${projection.name}`;

/**
 * Blue/green rebuild: replays every event of the projection into fresh tables in a scratch schema
 * (checkpointed per batch, so a crash or Ctrl-C resumes where it stopped and never touches the live
 * tables), then, in one transaction that holds the live projector's checkpoint, catches up the last
 * events and swaps the new tables in. Queries keep reading the old tables until that commit.
 */
export async function rebuildProjection(
  deps: { db: Kysely<Database>; store: EventStore },
  projection: Projection,
  options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void; signal?: AbortSignal } = {},
): Promise<RebuildResult> {
  const started = Date.now();
  const batchSize = options.batchSize ?? 5000;
  const schema = scratchSchema('rebuild', projection);
  const name = rebuildCheckpoint(projection);
  const previous = await readCheckpoint(deps.db, name);
  const resumed = previous.position !== null;
  if (!resumed) await dropScratchSchema(deps.db, schema);
  await createScratchTables(deps.db, schema, projection);

  const total = await countEvents(deps, projection);
  let handled = previous.eventsHandled;
  const report = (phase: RebuildProgress['phase']) => options.onProgress?.({ projection: projection.name, handled, total, phase });
  report('building');
  await fillScratch(deps, projection, schema, name, {
    batchSize,
    ...(options.signal && { signal: options.signal }),
    onBatch: (n) => {
      handled += n;
      report('building');
    },
  });
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
    const done = await lockCheckpoint(trx, name);
    await trx
      .updateTable('projection_checkpoints')
      .set({
        commit_position: last.position ? last.position.commit.toString() : null,
        prepare_position: last.position ? last.position.prepare.toString() : null,
        events_handled: done.eventsHandled,
        updated_at: new Date(),
      })
      .where('name', '=', projection.name)
      .execute();
    await trx.deleteFrom('projection_checkpoints').where('name', '=', name).execute();
    await dropScratchSchema(trx, schema);
  });
  report('done');
  return { projection: projection.name, events: handled, seconds: (Date.now() - started) / 1000, resumed };
}

/** Number of events a projection reads, for progress and ETA (PostgreSQL store only). */
async function countEvents(deps: { db: Kysely<Database>; store: EventStore }, projection: Projection): Promise<number | undefined> {
  if (deps.store.kind !== 'postgres') return undefined;
  const prefixes = projection.filter.streamPrefixes ?? [''];
  const types = projection.filter.eventTypes;
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from es_events
     where stream_id like any(${prefixes.map((p) => `${p}%`)}::text[])
       ${types?.length ? sql`and event_type = any(${[...types]}::text[])` : sql``}`.execute(deps.db);
  return Number(rows[0]?.n ?? 0);
}
