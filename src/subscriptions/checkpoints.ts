import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Position } from '../eventstore/port.ts';

/** A subscriber's checkpoint row (`projection_checkpoints`, named for its first users). */
export interface Checkpoint {
  readonly name: string;
  readonly position: Position | null;
  readonly eventsHandled: number;
  readonly updatedAt: Date;
}

/** The position stored in a checkpoint row's two columns (null: nothing handled yet). */
export function toPosition(commit: string | null, prepare: string | null): Position | null {
  return commit === null || prepare === null ? null : { commit: BigInt(commit), prepare: BigInt(prepare) };
}

/** Reads a checkpoint without locking (null position: nothing handled yet). */
export async function readCheckpoint(db: Kysely<Database>, name: string): Promise<Checkpoint> {
  const row = await db.selectFrom('projection_checkpoints').selectAll().where('name', '=', name).executeTakeFirst();
  return {
    name,
    position: row ? toPosition(row.commit_position, row.prepare_position) : null,
    eventsHandled: row ? Number(row.events_handled) : 0,
    updatedAt: row?.updated_at ?? new Date(0),
  };
}

/** Locks a checkpoint row for the rest of the transaction (creating it if needed) and returns it. */
export async function lockCheckpoint(trx: Transaction<Database>, name: string): Promise<Checkpoint> {
  await trx
    .insertInto('projection_checkpoints')
    .values({ name, commit_position: null, prepare_position: null })
    .onConflict((c) => c.doNothing())
    .execute();
  const row = await trx.selectFrom('projection_checkpoints').selectAll().where('name', '=', name).forUpdate().executeTakeFirstOrThrow();
  return {
    name,
    position: toPosition(row.commit_position, row.prepare_position),
    eventsHandled: Number(row.events_handled),
    updatedAt: row.updated_at,
  };
}

/** Moves a checkpoint forward inside the transaction that did the subscriber's work. */
export async function saveCheckpoint(trx: Transaction<Database>, name: string, position: Position | null, handled: number): Promise<void> {
  await trx
    .updateTable('projection_checkpoints')
    .set({
      commit_position: position ? position.commit.toString() : null,
      prepare_position: position ? position.prepare.toString() : null,
      events_handled: sql`events_handled + ${handled}`,
      updated_at: new Date(),
    })
    .where('name', '=', name)
    .execute();
}

/**
 * Moves a checkpoint forward over events none of which are its subscriber's, in one statement (no
 * transaction held across round trips). Only ever forward: a concurrent instance's transaction on the
 * row makes this wait and then re-check. False when it moved nothing (no row yet, or already there).
 */
export async function advanceCheckpoint(db: Kysely<Database>, name: string, position: Position): Promise<boolean> {
  const commit = position.commit.toString();
  const prepare = position.prepare.toString();
  const result = await db
    .updateTable('projection_checkpoints')
    .set({ commit_position: commit, prepare_position: prepare, updated_at: new Date() })
    .where('name', '=', name)
    .where((eb) =>
      eb.or([
        eb('commit_position', 'is', null),
        eb(sql`(commit_position, prepare_position)`, '<', sql<boolean>`(${commit}::numeric, ${prepare}::numeric)`),
      ]),
    )
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Sets a checkpoint to `position` (a swapped-in rebuild's: the live subscriber goes on from there), keeping its count. */
export async function setCheckpoint(trx: Transaction<Database>, name: string, position: Position | null): Promise<void> {
  await trx
    .updateTable('projection_checkpoints')
    .set({
      commit_position: position ? position.commit.toString() : null,
      prepare_position: position ? position.prepare.toString() : null,
      updated_at: new Date(),
    })
    .where('name', '=', name)
    .execute();
}

/** Removes a checkpoint (a rebuild's or a verify's own, once its scratch copy is gone). */
export async function deleteCheckpoint(db: Kysely<Database>, name: string): Promise<void> {
  await db.deleteFrom('projection_checkpoints').where('name', '=', name).execute();
}
