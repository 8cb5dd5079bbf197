import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.ts';
import type { EventFilter, EventStore, Position, RecordedEvent } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import { lockCheckpoint, readCheckpoint, saveCheckpoint } from './checkpoints.ts';
import type { Projection } from './projection.ts';

/** What a projector needs. */
export interface ProjectorDeps {
  readonly db: Kysely<Database>;
  readonly store: EventStore;
  readonly log?: Logger;
}

/**
 * Applies one batch and moves the checkpoint in the same transaction. The checkpoint row is locked
 * first, so concurrent runners of the same projection serialise and skip what the other already did.
 */
export async function applyBatch(deps: ProjectorDeps, projection: Projection, events: readonly RecordedEvent[], checkpoint: Position): Promise<number> {
  return deps.db.transaction().execute(async (trx) => {
    const current = await lockCheckpoint(trx, projection.name);
    if (comparePositions(checkpoint, current.position) <= 0) return 0;
    const fresh = events.filter((e) => comparePositions(e.position, current.position) > 0);
    if (fresh.length) await projection.apply(trx.withSchema('public'), fresh, trx);
    await saveCheckpoint(trx, projection.name, checkpoint, fresh.length);
    return fresh.length;
  });
}

/**
 * Anything that follows the store from a checkpoint row and handles batches: the projections, the
 * process manager, reactors. `handle` applies a batch and moves the checkpoint to `checkpoint`
 * (skipping what another instance already did), returning the events it handled.
 */
export interface CheckpointedSubscriber {
  readonly name: string;
  readonly filter: EventFilter;
  handle(events: readonly RecordedEvent[], checkpoint: Position): Promise<number>;
}

/** A projection as a {@link CheckpointedSubscriber}. */
function projector(deps: ProjectorDeps, projection: Projection): CheckpointedSubscriber {
  return { name: projection.name, filter: projection.filter, handle: (events, checkpoint) => applyBatch(deps, projection, events, checkpoint) };
}

/**
 * Brings a subscriber up to the store's visible head and returns the number of events handled.
 * With `until`, keeps going until the checkpoint reaches that position: a commit becomes visible to
 * readers only once older transactions on the server finish, so a just-written event may need a moment.
 */
export async function catchUpSubscriber(
  deps: Pick<ProjectorDeps, 'db' | 'store'>,
  subscriber: CheckpointedSubscriber,
  options: { until?: Position | null; batchSize?: number; timeoutMs?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 1000;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let handled = 0;
  let from = (await readCheckpoint(deps.db, subscriber.name)).position;
  for (;;) {
    const page = await deps.store.readAll({ from, limit: batchSize, filter: subscriber.filter });
    if (page.checkpoint && comparePositions(page.checkpoint, from) > 0) {
      handled += await subscriber.handle(page.events, page.checkpoint);
      from = page.checkpoint;
    }
    if (page.events.length === batchSize) continue;
    if (!options.until) return handled;
    const current = (await readCheckpoint(deps.db, subscriber.name)).position;
    if (comparePositions(current, options.until) >= 0) return handled;
    if (Date.now() > deadline) throw new Error(`${subscriber.name} did not reach the written position in time`);
    from = current;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Brings a projection up to the store's visible head (or to `until`); see {@link catchUpSubscriber}. */
export function catchUp(
  deps: ProjectorDeps,
  projection: Projection,
  options: { until?: Position | null; batchSize?: number; timeoutMs?: number } = {},
): Promise<number> {
  return catchUpSubscriber(deps, projector(deps, projection), options);
}

/**
 * Runs `fn` while holding a session advisory lock named after `name`, so that of several processes
 * only one is active; the others wait and take over when its connection goes. Correctness does not
 * rest on this (checkpoints are row-locked); it only saves duplicate work.
 */
export async function whileLeader(db: Kysely<Database>, name: string, signal: AbortSignal, fn: () => Promise<void>, retryMs = 2000): Promise<void> {
  while (!signal.aborted) {
    const ran = await db.connection().execute(async (conn) => {
      const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(hashtext(${`callsnare:${name}`})) as ok`.execute(conn);
      if (!rows[0]?.ok) return false;
      try {
        await fn();
      } finally {
        await sql`select pg_advisory_unlock(hashtext(${`callsnare:${name}`}))`.execute(conn).catch(() => {});
      }
      return true;
    });
    if (ran) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, retryMs);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

/**
 * Runs a subscriber live until `signal` aborts, as the instance elected under `lockName`; restarts its
 * subscription after an error.
 */
export async function runSubscriber(
  deps: ProjectorDeps,
  subscriber: CheckpointedSubscriber,
  signal: AbortSignal,
  options: { lockName: string; batchSize: number },
): Promise<void> {
  const log = deps.log?.child({ subscriber: subscriber.name });
  while (!signal.aborted) {
    try {
      await whileLeader(deps.db, options.lockName, signal, async () => {
        log?.debug('active');
        const from = (await readCheckpoint(deps.db, subscriber.name)).position;
        for await (const batch of deps.store.subscribe({ from, filter: subscriber.filter, batchSize: options.batchSize, signal })) {
          const handled = await subscriber.handle(batch.events, batch.checkpoint);
          if (handled) log?.debug({ handled }, 'handled');
        }
      });
    } catch (error) {
      if (signal.aborted) break;
      log?.error({ err: error }, `${subscriber.name} failed; restarting in 1 s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Runs a projection live until `signal` aborts (as the elected instance). */
export function runProjector(deps: ProjectorDeps, projection: Projection, signal: AbortSignal): Promise<void> {
  return runSubscriber(deps, projector(deps, projection), signal, { lockName: `projector:${projection.name}`, batchSize: 500 });
}

/** Resolves once every named projection's checkpoint is at or past `position`; false on timeout. */
export async function waitForProjections(db: Kysely<Database>, names: readonly string[], position: Position, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const checkpoints = await Promise.all(names.map((name) => readCheckpoint(db, name)));
    if (checkpoints.every((c) => comparePositions(c.position, position) >= 0)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 15));
  }
}
