import { sql } from 'kysely';
import type { Db } from '../db/kysely.ts';
import type { EventStore, Position } from '../eventstore/port.ts';
import { readCheckpoint, type Checkpoint } from './checkpoints.ts';
import type { Projection } from './projection.ts';

/** How far a projection trails the store. */
export interface ProjectionLag {
  readonly name: string;
  readonly checkpoint: Checkpoint;
  /** Events after the checkpoint (of any kind: the checkpoint moves past filtered ones too). */
  readonly events: number;
  /** Age of the oldest event not yet handled; 0 when caught up. */
  readonly seconds: number;
}

/** Lag of each projection (event counts from the PostgreSQL store; 0 on other stores). */
export async function projectionLags(deps: { db: Db; store: EventStore }, projections: readonly Pick<Projection, 'name'>[]): Promise<ProjectionLag[]> {
  return Promise.all(
    projections.map(async (projection) => {
      const checkpoint = await readCheckpoint(deps.db, projection.name);
      const lag = deps.store.kind === 'postgres' ? await eventsAfter(deps.db, checkpoint.position) : { events: 0, seconds: 0 };
      return { name: projection.name, checkpoint, ...lag };
    }),
  );
}

async function eventsAfter(db: Db, position: Position | null): Promise<{ events: number; seconds: number }> {
  const { rows } = await sql<{ n: string; oldest: Date | null }>`
    select count(*) as n, min(recorded_at) as oldest from es_events
     where (transaction_id, global_position) > (${(position?.commit ?? 0n).toString()}::xid8, ${(position?.prepare ?? 0n).toString()}::bigint)
       and transaction_id < pg_snapshot_xmin(pg_current_snapshot())`.execute(db);
  const oldest = rows[0]?.oldest;
  return { events: Number(rows[0]?.n ?? 0), seconds: oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0 };
}
