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

/** Creates the schema and empty copies of the projection's tables (columns, defaults, indexes, keys). */
export async function createScratchTables(db: Kysely<Database>, schema: string, projection: Projection): Promise<void> {
  await sql`create schema if not exists ${ident(schema)}`.execute(db);
  for (const table of projection.tables) {
    await sql`create table if not exists ${sql.id(schema, table)} (like ${sql.id('public', table)} including all)`.execute(db);
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
  options: { batchSize: number; until?: Position | null; trx?: Transaction<Database>; onBatch?: (applied: number) => void; signal?: AbortSignal },
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
