import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EventStore, Position } from '../eventstore/port.ts';
import { toPosition } from './checkpoints.ts';

/** A checkpoint row as the seeding sees it. */
export interface SeedableCheckpoint {
  readonly seedAtHead: boolean;
  readonly position: Position | null;
}

/**
 * Where a checkpoint flagged "seed at the head" starts, or undefined when it is not flagged.
 * On PostgreSQL the migration already seeded it at the head of `es_events` as of migrating (null: the
 * store was empty, so everything after is new work), so the position stays. On EventStoreDB the
 * migration could not see the store: the head the store reports now is where history ends, unless
 * the checkpoint moved since (a process manager already ran from it: it is never moved back or forth).
 */
export function seededPosition(
  kind: EventStore['kind'],
  checkpoint: SeedableCheckpoint,
  head: Position | null,
): { position: Position | null } | undefined {
  if (!checkpoint.seedAtHead) return undefined;
  switch (kind) {
    case 'postgres':
      return { position: checkpoint.position };
    case 'esdb':
      return { position: checkpoint.position ?? head };
    default: {
      const unknown: never = kind;
      throw new Error(`unknown event store ${String(unknown)}`);
    }
  }
}

/**
 * Seeds every flagged checkpoint (the process manager's, on a database where it never ran), or those of
 * `names`, at the store's head, once: the row is locked and the flag cleared in the same transaction. Runs
 * when a process opens the store after migrating, and before a subscriber first reads its checkpoint.
 */
export async function seedCheckpoints(deps: { db: Kysely<Database>; store: EventStore }, names?: readonly string[]): Promise<void> {
  let query = deps.db.selectFrom('projection_checkpoints').select('name').where('seed_at_head', '=', true);
  if (names) query = query.where('name', 'in', names);
  const flagged = await query.execute();
  if (!flagged.length) return;
  const head = deps.store.kind === 'postgres' ? null : await deps.store.headPosition();
  for (const { name } of flagged) {
    await deps.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('projection_checkpoints').selectAll().where('name', '=', name).forUpdate().executeTakeFirst();
      if (!row) return;
      const current = toPosition(row.commit_position, row.prepare_position);
      const seeded = seededPosition(deps.store.kind, { seedAtHead: row.seed_at_head, position: current }, head);
      if (!seeded) return;
      await trx
        .updateTable('projection_checkpoints')
        .set({
          commit_position: seeded.position ? seeded.position.commit.toString() : null,
          prepare_position: seeded.position ? seeded.position.prepare.toString() : null,
          seed_at_head: false,
          updated_at: new Date(),
        })
        .where('name', '=', name)
        .execute();
    });
  }
}
