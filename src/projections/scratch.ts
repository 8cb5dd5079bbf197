import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EventStore, Position, RecordedEvent } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import { lockCheckpoint, saveCheckpoint } from '../subscriptions/checkpoints.ts';
import type { Projection } from './projection.ts';

/** A schema beside `public` holding a projection's tables while they are rebuilt or verified. */
export function scratchSchema(kind: 'rebuild' | 'verify', projection: Projection): string {
  return `${kind}_${projection.name.replace(/[^a-z0-9_]/g, '_')}`;
}

const ident = (name: string) => sql.id(name);

/**
 * Creates the schema and empty copies of the projection's tables (columns, defaults, indexes, keys).
 * With `bulk` (a rebuild): tables with only their unique indexes, for a fast load, and a `_progress`
 * table mirroring the rebuild checkpoint, so that scratch tables not holding what the checkpoint says
 * (UNLOGGED ones of earlier versions, which a server crash empties) are noticed ({@link bulkScratchIntact});
 * {@link finishBulkScratch} completes them. They are LOGGED from the start: COPY writes them to the WAL
 * while the next batch is folded, where UNLOGGED tables cost as much again at `SET LOGGED`, a full
 * rewrite (and index rebuild) in the critical path.
 */
export async function createScratchTables(
  db: Kysely<Database>,
  schema: string,
  projection: Projection,
  options: { bulk?: boolean } = {},
): Promise<void> {
  await sql`create schema if not exists ${ident(schema)}`.execute(db);
  for (const table of projection.tables) {
    if (!options.bulk) {
      await sql`create table if not exists ${sql.id(schema, table)} (like ${sql.id('public', table)} including all)`.execute(db);
      continue;
    }
    if (await tableExists(db, schema, table)) continue;
    await db.transaction().execute(async (trx) => {
      await sql`create table ${sql.id(schema, table)} (like ${sql.id('public', table)} including all)`.execute(trx);
      for (const index of await secondaryIndexes(trx, schema, table)) await sql`drop index ${sql.id(schema, index.name)}`.execute(trx);
    });
  }
  if (options.bulk) {
    await sql`create table if not exists ${sql.id(schema, PROGRESS)} (commit_position text, prepare_position text)`.execute(db);
    await sql`insert into ${sql.id(schema, PROGRESS)} select null, null where not exists (select from ${sql.id(schema, PROGRESS)})`.execute(
      db,
    );
  }
}

const PROGRESS = '_progress';

/** `"schema"."table"` as text, for regclass. */
const qualified = (schema: string, table: string) => `"${schema}"."${table}"`;

async function tableExists(db: Kysely<Database> | Transaction<Database>, schema: string, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select to_regclass(${qualified(schema, table)}) is not null as found`.execute(db);
  return rows[0]!.found;
}

/** Non-unique indexes of a table: dropped for a bulk load, built once it is loaded. */
async function secondaryIndexes(
  db: Kysely<Database> | Transaction<Database>,
  schema: string,
  table: string,
): Promise<{ name: string; definition: string }[]> {
  const { rows } = await sql<{ name: string; definition: string }>`
    select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
      from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = ${qualified(schema, table)}::regclass and not i.indisunique
     order by c.relname`.execute(db);
  return rows;
}

/** Records, in the batch's transaction, the position the bulk-loaded scratch tables hold. */
export async function saveBulkProgress(trx: Transaction<Database>, schema: string, position: Position | null): Promise<void> {
  await sql`update ${sql.id(schema, PROGRESS)} set commit_position = ${position?.commit.toString() ?? null}, prepare_position = ${position?.prepare.toString() ?? null}`.execute(
    trx,
  );
}

/** True when the bulk scratch tables still hold what the checkpoint says (a server crash empties unlogged ones). */
export async function bulkScratchIntact(db: Kysely<Database>, schema: string, checkpoint: Position | null): Promise<boolean> {
  if (!(await tableExists(db, schema, PROGRESS))) return false;
  const { rows } = await sql<{
    commit_position: string | null;
    prepare_position: string | null;
  }>`select * from ${sql.id(schema, PROGRESS)}`.execute(db);
  const row = rows[0];
  return (
    !!row &&
    (row.commit_position ?? null) === (checkpoint?.commit.toString() ?? null) &&
    (row.prepare_position ?? null) === (checkpoint?.prepare.toString() ?? null)
  );
}

/**
 * Makes bulk-loaded scratch tables what `public` has: LOGGED (a no-op but for the UNLOGGED tables of a
 * rebuild begun by an earlier version), then the live tables' non-unique indexes, under the live names.
 * Safe to repeat after an interruption.
 */
export async function finishBulkScratch(db: Kysely<Database>, schema: string, projection: Projection): Promise<void> {
  for (const table of projection.tables) {
    await sql`alter table ${sql.id(schema, table)} set logged`.execute(db);
    for (const index of await secondaryIndexes(db, 'public', table)) {
      const prefix = `CREATE INDEX ${index.name} ON public.`;
      if (!index.definition.startsWith(prefix)) throw new Error(`unexpected definition of index ${index.name}: ${index.definition}`);
      await sql.raw(`CREATE INDEX IF NOT EXISTS ${index.name} ON "${schema}".${index.definition.slice(prefix.length)}`).execute(db);
    }
  }
}

export async function dropScratchSchema(db: Kysely<Database> | Transaction<Database>, schema: string): Promise<void> {
  await sql`drop schema if exists ${ident(schema)} cascade`.execute(db);
}

/**
 * Reads the projection's events after `from` (up to `until`, if given) and applies them to the scratch
 * schema in batches, each batch with its checkpoint row `checkpointName` in one transaction.
 * Returns the final position and the events applied.
 */
export async function fillScratch(
  deps: { db: Kysely<Database>; store: EventStore },
  projection: Projection,
  schema: string,
  checkpointName: string,
  options: {
    batchSize: number;
    until?: Position | null;
    trx?: Transaction<Database>;
    onBatch?: (applied: number) => void;
    signal?: AbortSignal;
  },
): Promise<{ position: Position | null; applied: number }> {
  let applied = 0;
  const run = async (trx: Transaction<Database>) => {
    const current = await lockCheckpoint(trx, checkpointName);
    return current.position;
  };
  let from = options.trx ? await run(options.trx) : await deps.db.transaction().execute(run);
  for (;;) {
    if (options.signal?.aborted) break;
    const page = await deps.store.readAll({ from, limit: options.batchSize, filter: projection.filter });
    let events: readonly RecordedEvent[] = page.events;
    let next = page.checkpoint;
    let done = page.events.length < options.batchSize;
    if (options.until !== undefined) {
      const until = options.until;
      const within = events.filter((e) => comparePositions(e.position, until) <= 0);
      if (within.length < events.length || comparePositions(next, until) >= 0) {
        events = within;
        next = until;
        done = true;
      }
    }
    if (next && comparePositions(next, from) > 0) {
      const write = async (trx: Transaction<Database>) => {
        await lockCheckpoint(trx, checkpointName);
        if (events.length) await projection.apply(trx.withSchema(schema), events, trx);
        await saveCheckpoint(trx, checkpointName, next, events.length);
      };
      if (options.trx) await write(options.trx);
      else await deps.db.transaction().execute(write);
      applied += events.length;
      from = next;
      options.onBatch?.(events.length);
    }
    if (done) break;
  }
  return { position: from, applied };
}
