import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.ts';
import type { EventFilter, EventStore, Position, RecordedEvent } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import { advanceCheckpoint, lockCheckpoint, readCheckpoint, saveCheckpoint } from './checkpoints.ts';

/** What the engine needs to run any subscriber; a subscriber's `prepare` may ask for more (`D`). */
export interface SubscriberDeps {
  readonly db: Kysely<Database>;
  readonly store: EventStore;
  readonly log?: Logger;
  /** Told after each checkpoint move, so reads waiting for it wake (see `CheckpointSignal`). */
  readonly checkpoints?: { announce(): void };
}

/**
 * A checkpointed subscriber: follows the store from its row in `projection_checkpoints` and handles each
 * event once, whatever crashes, redeliveries or concurrent instances (see {@link handleBatch}). Projections,
 * the process manager and reactors are all one of these; `src/subscribers.ts` lists them.
 */
export interface Subscriber<D extends SubscriberDeps = SubscriberDeps, P = unknown> {
  /** Its checkpoint row. */
  readonly name: string;
  readonly filter: EventFilter;
  /** Advisory lock electing the one live instance across processes (default: `name`). */
  readonly lockName?: string;
  /** Events per batch (default: 1000 catching up, 500 live). */
  readonly batchSize?: number;
  /**
   * Runs first, outside any transaction, on the events past the checkpoint as last read: loads what
   * `handle` needs, or does work that cannot share the checkpoint's transaction (appends to the event
   * store). Keeping it out of the transaction keeps that short: an open transaction holds back what
   * every subscriber on the server sees. A crash before the checkpoint moves runs it again, so it must
   * be idempotent.
   */
  prepare?(deps: D, events: readonly RecordedEvent[]): Promise<P>;
  /** Handles the events past the locked checkpoint inside the transaction that moves it. */
  handle?(trx: Transaction<Database>, events: readonly RecordedEvent[], prepared: P): Promise<void>;
}

const after = (events: readonly RecordedEvent[], position: Position | null) =>
  events.filter((e) => comparePositions(e.position, position) > 0);

/**
 * The one batch step of every subscriber: `prepare` the events past the checkpoint, then in one
 * transaction lock the checkpoint row, `handle` the events still past it and move it to `checkpoint`.
 * The row lock serialises concurrent instances; each skips what another already did. Returns the
 * events handled.
 */
export async function handleBatch<D extends SubscriberDeps, P>(
  deps: D,
  subscriber: Subscriber<D, P>,
  events: readonly RecordedEvent[],
  checkpoint: Position,
): Promise<number> {
  // Nothing to handle (events of others moved the head): one statement instead of a transaction.
  if (events.length === 0 && (await advanceCheckpoint(deps.db, subscriber.name, checkpoint))) {
    deps.checkpoints?.announce();
    return 0;
  }
  let prepared: P | undefined;
  if (subscriber.prepare) {
    const current = await readCheckpoint(deps.db, subscriber.name);
    if (comparePositions(checkpoint, current.position) <= 0) return 0;
    prepared = await subscriber.prepare(deps, after(events, current.position));
  }
  const handled = await deps.db.transaction().execute(async (trx) => {
    const locked = await lockCheckpoint(trx, subscriber.name);
    if (comparePositions(checkpoint, locked.position) <= 0) return -1;
    const fresh = after(events, locked.position);
    if (fresh.length && subscriber.handle) await subscriber.handle(trx, fresh, prepared as P);
    await saveCheckpoint(trx, subscriber.name, checkpoint, fresh.length);
    return fresh.length;
  });
  if (handled < 0) return 0;
  deps.checkpoints?.announce();
  return handled;
}
