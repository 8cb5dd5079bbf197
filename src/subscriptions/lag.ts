import { sql } from 'kysely';
import type { Db } from '../db/kysely.ts';
import type { EventStore } from '../eventstore/port.ts';
import { type Checkpoint, toPosition } from './checkpoints.ts';

/** How far a subscriber trails the store. */
export interface SubscriberLag {
  readonly name: string;
  readonly checkpoint: Checkpoint;
  /** Events after the checkpoint (of any kind: the checkpoint moves past filtered ones too). */
  readonly events: number;
  /** Age of the oldest event not yet handled; 0 when caught up. */
  readonly seconds: number;
}

/**
 * Lag of each subscriber (event counts from the PostgreSQL store; 0 on other stores), in one query
 * whatever the number of subscribers: `/metrics` and `projections status` read it often.
 */
export async function subscriberLags(
  deps: { db: Db; store: EventStore },
  subscribers: readonly { readonly name: string }[],
): Promise<SubscriberLag[]> {
  const names = subscribers.map((s) => s.name);
  const counted = deps.store.kind === 'postgres';
  const { rows } = await sql<{
    name: string;
    commit_position: string | null;
    prepare_position: string | null;
    events_handled: string | null;
    updated_at: Date | null;
    n: string | null;
    oldest: Date | null;
  }>`
    select p.name, c.commit_position::text, c.prepare_position::text, c.events_handled, c.updated_at, l.n, l.oldest
      from unnest(${names}::text[]) with ordinality as p(name, ord)
      left join projection_checkpoints c on c.name = p.name
      left join lateral (
        select count(*) as n, min(recorded_at) as oldest from es_events
         where (transaction_id, global_position) > (coalesce(c.commit_position, 0)::text::xid8, coalesce(c.prepare_position, 0)::bigint)
           and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ) l on ${counted}
     order by p.ord`.execute(deps.db);
  return rows.map((row) => {
    const checkpoint: Checkpoint = {
      name: row.name,
      position: toPosition(row.commit_position, row.prepare_position),
      eventsHandled: Number(row.events_handled ?? 0),
      updatedAt: row.updated_at ?? new Date(0),
    };
    const oldest = row.oldest;
    return {
      name: row.name,
      checkpoint,
      events: Number(row.n ?? 0),
      seconds: oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0,
    };
  });
}
