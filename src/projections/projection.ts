import { sql, type QueryCreator, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EventFilter, RecordedEvent } from '../eventstore/port.ts';
import type { Subscriber } from '../subscriptions/subscriber.ts';

/**
 * A read model built from events. `apply` writes through `q`, which is bound to the schema being
 * built (`public` live, a scratch schema during rebuild/verify), inside the runner's transaction.
 */
export interface Projection {
  readonly name: string;
  readonly filter: EventFilter;
  /** Tables this projection owns, in creation order. */
  readonly tables: readonly string[];
  apply(q: QueryCreator<Database>, events: readonly RecordedEvent[], trx: Transaction<Database>): Promise<void>;
  /**
   * The bulk path of a rebuild (optional): folds a batch exactly as `apply` does, reading through `q`,
   * but returns the rows it leaves instead of writing them; the rebuild writes them with COPY.
   */
  fold?(q: QueryCreator<Database>, events: readonly RecordedEvent[]): Promise<TableRows[]>;
}

/** Rows a batch leaves in one table, as `apply` would write them (column name to value). */
export interface TableRows {
  readonly table: string;
  readonly rows: readonly Record<string, unknown>[];
  /** Rows already in the table that `rows` replace, by key: deleted before `rows` go in. */
  readonly replace?: { readonly column: string; readonly keys: readonly unknown[] };
}

/** A projection as a subscriber: its live model is written in the checkpoint's transaction; elected as `projector:<name>`. */
export function projector(projection: Projection): Subscriber {
  return {
    name: projection.name,
    filter: projection.filter,
    lockName: `projector:${projection.name}`,
    handle: (trx, events) => projection.apply(trx.withSchema('public'), events, trx),
  };
}

/**
 * The stored state of every entity a batch touches, for projections keeping one row per stream's
 * entity (`id`, `state`) in `table`: `key` gives an event's entity id, whose stream is `stream(id)`.
 * An entity whose stream starts within the batch (revision 0) has no row yet, so it is not looked up:
 * a replay of the whole log then reads back only the entities that span batches.
 */
export async function storedStates<S>(
  q: QueryCreator<Database>,
  table: 'bookings' | 'leads' | 'orgs',
  events: readonly RecordedEvent[],
  key: (event: RecordedEvent) => string,
  stream: (id: string) => string,
): Promise<Map<string, S>> {
  const first = new Map<string, RecordedEvent>();
  for (const event of events) {
    const id = key(event);
    if (!first.has(id)) first.set(id, event);
  }
  const ids = [...first].filter(([id, e]) => e.revision !== 0 || e.streamId !== stream(id)).map(([id]) => id);
  if (!ids.length) return new Map();
  const rows = await q
    .selectFrom(table)
    .select(['id', 'state'])
    .where('id', '=', sql<string>`any(${ids}::uuid[])`)
    .execute();
  return new Map(rows.map((r) => [r.id, r.state as S]));
}
