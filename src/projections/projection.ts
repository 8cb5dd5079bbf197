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
  fold?(q: QueryCreator<Database>, events: readonly RecordedEvent[], pending?: PendingRows): Promise<TableRows[]>;
}

/**
 * Rows a rebuild's previous batch is still writing (so `q` does not show them yet), by table and `id`:
 * a fold reads an entity's state from here before it reads the table (see {@link storedStates}).
 */
export type PendingRows = ReadonlyMap<string, ReadonlyMap<string, Readonly<Record<string, unknown>>>>;

/** The rows of a folded batch as {@link PendingRows} for the next fold. */
export function pendingRowsOf(tables: readonly TableRows[]): PendingRows {
  const pending = new Map<string, Map<string, Record<string, unknown>>>();
  for (const { table, rows } of tables) {
    let byId = pending.get(table);
    if (!byId) pending.set(table, (byId = new Map<string, Record<string, unknown>>()));
    for (const row of rows) if (typeof row.id === 'string') byId.set(row.id, row);
  }
  return pending;
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
  pending?: PendingRows,
): Promise<Map<string, S>> {
  const first = new Map<string, RecordedEvent>();
  for (const event of events) {
    const id = key(event);
    if (!first.has(id)) first.set(id, event);
  }
  const states = new Map<string, S>();
  const written = pending?.get(table);
  const ids: string[] = [];
  for (const [id, e] of first) {
    if (e.revision === 0 && e.streamId === stream(id)) continue;
    const row = written?.get(id);
    // Pending rows carry the state as the text COPY writes (JSON).
    if (row) states.set(id, (typeof row.state === 'string' ? JSON.parse(row.state) : row.state) as S);
    else ids.push(id);
  }
  if (!ids.length) return states;
  const rows = await q
    .selectFrom(table)
    .select(['id', 'state'])
    .where('id', '=', sql<string>`any(${ids}::uuid[])`)
    .execute();
  for (const r of rows) states.set(r.id, r.state as S);
  return states;
}
