import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.ts';
import type { EventStore, Position, RecordedEvent } from '../eventstore/port.ts';
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
 * Brings a projection up to the store's visible head and returns the number of events applied.
 * With `until`, keeps going until the checkpoint reaches that position: a commit becomes visible to
 * readers only once older transactions on the server finish, so a just-written event may need a moment.
 */
export async function catchUp(
  deps: ProjectorDeps,
  projection: Projection,
  options: { until?: Position | null; batchSize?: number; timeoutMs?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 1000;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let applied = 0;
  let from = (await readCheckpoint(deps.db, projection.name)).position;
  for (;;) {
    const page = await deps.store.readAll({ from, limit: batchSize, filter: projection.filter });
    if (page.checkpoint && comparePositions(page.checkpoint, from) > 0) {
      applied += await applyBatch(deps, projection, page.events, page.checkpoint);
      from = page.checkpoint;
    }
    if (page.events.length === batchSize) continue;
    const current = (await readCheckpoint(deps.db, projection.name)).position;
    if (!options.until || comparePositions(current, options.until) >= 0) return applied;
    if (Date.now() > deadline) throw new Error(`projection ${projection.name} did not reach the written position in time`);
    from = current;
    await new Promise((r) => setTimeout(r, 10));
  }
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

/** Runs a projection live until `signal` aborts (as the elected instance); restarts its subscription after an error. */
export async function runProjector(deps: ProjectorDeps, projection: Projection, signal: AbortSignal): Promise<void> {
  const log = deps.log?.child({ projection: projection.name });
  while (!signal.aborted) {
    try {
      await whileLeader(deps.db, `projector:${projection.name}`, signal, async () => {
        log?.debug('active');
        const from = (await readCheckpoint(deps.db, projection.name)).position;
        for await (const batch of deps.store.subscribe({ from, filter: projection.filter, batchSize: 500, signal })) {
          const applied = await applyBatch(deps, projection, batch.events, batch.checkpoint);
          if (applied) log?.debug({ applied }, 'projected');
        }
      });
    } catch (error) {
      if (signal.aborted) break;
      log?.error({ err: error }, 'projector failed; restarting in 1 s');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
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
