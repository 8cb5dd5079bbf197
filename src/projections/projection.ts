import type { QueryCreator, Transaction } from 'kysely';
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
