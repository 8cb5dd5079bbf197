import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EventFilter, EventStore, Position, ReadAllPage } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import { seedCheckpoints } from './checkpoint-seed.ts';
import { advanceCheckpoint, readCheckpoint, toPosition } from './checkpoints.ts';
import { handleBatch, type Subscriber, type SubscriberDeps } from './subscriber.ts';
import { retryUntilAborted } from './retry.ts';
import { sleep } from '../sleep.ts';

/**
 * Brings a subscriber up to the store's visible head and returns the number of events handled.
 * With `until`, keeps going until the checkpoint reaches that position: a commit becomes visible to
 * readers only once older transactions on the server finish, so a just-written event may need a moment.
 */
export async function catchUp<D extends SubscriberDeps, P>(
  deps: D,
  subscriber: Subscriber<D, P>,
  options: { until?: Position | null; batchSize?: number; timeoutMs?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? subscriber.batchSize ?? 1000;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let handled = 0;
  await seedCheckpoints(deps, [subscriber.name]);
  let from = (await readCheckpoint(deps.db, subscriber.name)).position;
  for (;;) {
    const page = await deps.store.readAll({ from, limit: batchSize, filter: subscriber.filter });
    if (page.checkpoint && comparePositions(page.checkpoint, from) > 0) {
      handled += await handleBatch(deps, subscriber, page.events, page.checkpoint);
      from = page.checkpoint;
    }
    if (page.events.length === batchSize) continue;
    if (!options.until) return handled;
    const current = (await readCheckpoint(deps.db, subscriber.name)).position;
    if (comparePositions(current, options.until) >= 0) return handled;
    if (Date.now() > deadline) throw new Error(`${subscriber.name} did not reach the written position in time`);
    from = current;
    await sleep(10);
  }
}

/**
 * Runs `fn` while holding a session advisory lock named after `name`, so that of several processes
 * only one is active; the others wait and take over when its connection goes. Correctness does not
 * rest on this (checkpoints are row-locked); it only saves duplicate work.
 */
export async function whileLeader(
  db: Kysely<Database>,
  name: string,
  signal: AbortSignal,
  fn: () => Promise<void>,
  retryMs = 2000,
): Promise<void> {
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
    await sleep(retryMs, signal);
  }
}

/**
 * Runs a subscriber live until `signal` aborts, as the instance elected under its lock name (of several
 * processes one is active; the others take over when it goes); restarts its subscription after an error.
 */
export async function runSubscriber<D extends SubscriberDeps, P>(
  deps: D,
  subscriber: Subscriber<D, P>,
  signal: AbortSignal,
): Promise<void> {
  const log = deps.log?.child({ subscriber: subscriber.name });
  await retryUntilAborted(
    signal,
    async () => {
      // Before the first read of the checkpoint: a flagged one starts at the store's head, not at nothing.
      await seedCheckpoints(deps, [subscriber.name]);
      await whileLeader(deps.db, subscriber.lockName ?? subscriber.name, signal, async () => {
        log?.debug('active');
        const from = (await readCheckpoint(deps.db, subscriber.name)).position;
        const batchSize = subscriber.batchSize ?? 500;
        for await (const batch of deps.store.subscribe({ from, filter: subscriber.filter, batchSize, signal })) {
          const handled = await handleBatch(deps, subscriber, batch.events, batch.checkpoint);
          if (handled) log?.debug({ handled }, 'handled');
        }
      });
    },
    (error) => log?.error({ err: error }, `${subscriber.name} failed; restarting in 1 s`),
  );
}

/** How long a checkpoint behind the awaited position must stand still before the idle rule reads the log. */
export const IDLE_CHECKPOINT_MS = 250;

/**
 * Whether a store's subscriptions can leave an idle subscriber's checkpoint behind events it filters out.
 * EventStoreDB's filtered subscriptions report a checkpoint over filtered-out events only every 32 events
 * read, so after one event of another kind the checkpoint of a quiet subscriber does not reach it. The
 * PostgreSQL store moves checkpoints over such gaps itself and is left as it is.
 */
export function needsIdleCheckpoints(store: Pick<EventStore, 'kind'>): boolean {
  return store.kind === 'esdb';
}

/**
 * The idle-checkpoint rule: where an idle subscriber's checkpoint may move, given `page`, a filtered
 * `readAll` from that checkpoint with `limit: 1`. When nothing matching its filter lies between the
 * checkpoint and `target`, the subscriber has nothing to do there, so its checkpoint may move to `target`
 * (or to the end of the read, if nothing matched at all). Null when it must stay: already there, or an
 * event it has to handle lies at or before `target` (its subscription delivers that one).
 */
export function idleCheckpoint(
  checkpoint: Position | null,
  target: Position,
  page: Pick<ReadAllPage, 'events' | 'checkpoint'>,
): Position | null {
  if (comparePositions(checkpoint, target) >= 0) return null;
  const first = page.events[0];
  if (first) return comparePositions(first.position, target) > 0 ? target : null;
  return page.checkpoint && comparePositions(page.checkpoint, checkpoint) > 0 ? page.checkpoint : null;
}

/**
 * Longest a woken-by-notice read goes without re-reading the checkpoints (a lost notice only delays it);
 * on EventStoreDB it also looks for idle read models at this pace.
 */
const UNWOKEN_MS = 1000;

/**
 * Resolves once every named checkpoint is at or past `position`; false on timeout. With a `wake` signal
 * (the process's `CheckpointSignal`) the checkpoints are re-read when one moves, else every second
 * (every 250 ms where idle read models must be moved on); without one, every 15 ms.
 */
export async function waitForCheckpoints(
  db: Kysely<Database>,
  names: readonly string[],
  position: Position,
  timeoutMs: number,
  idle?: { readonly store: EventStore; readonly filters: ReadonlyMap<string, EventFilter> },
  wake?: { listen(): { readonly ready: Promise<void>; next(timeoutMs: number): Promise<void>; close(): void } },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  // per name: the checkpoint last seen and since when it has not moved
  const still = new Map<string, { position: Position | null; since: number }>();
  const listener = wake?.listen();
  const unwoken = idle && needsIdleCheckpoints(idle.store) ? IDLE_CHECKPOINT_MS : UNWOKEN_MS;
  try {
    if (listener) await Promise.race([listener.ready, sleep(Math.min(timeoutMs, 1000))]);
    for (;;) {
      // Armed before reading, so a move between the read and the wait is not missed.
      const moved = listener?.next(Math.max(0, Math.min(unwoken, deadline - Date.now())));
      const rows = await db
        .selectFrom('projection_checkpoints')
        .select(['name', 'commit_position', 'prepare_position'])
        .where('name', 'in', names)
        .execute();
      const checkpoints = names.map((name) => {
        const row = rows.find((r) => r.name === name);
        return { name, position: row ? toPosition(row.commit_position, row.prepare_position) : null };
      });
      if (checkpoints.every((c) => comparePositions(c.position, position) >= 0)) return true;
      if (Date.now() >= deadline) return false;
      if (idle && needsIdleCheckpoints(idle.store)) {
        const now = Date.now();
        await Promise.all(
          names.map(async (name, i) => {
            const current = checkpoints[i]!.position;
            const filter = idle.filters.get(name);
            if (!filter || comparePositions(current, position) >= 0) return;
            const seen = still.get(name);
            if (!seen || comparePositions(seen.position, current) !== 0) {
              still.set(name, { position: current, since: now });
              return;
            }
            if (now - seen.since < IDLE_CHECKPOINT_MS) return;
            seen.since = now;
            const page = await idle.store.readAll({ from: current, limit: 1, filter });
            const to = idleCheckpoint(current, position, page);
            if (to) await advanceCheckpoint(db, name, to);
          }),
        );
      }
      await (moved ?? sleep(15));
    }
  } finally {
    listener?.close();
  }
}
