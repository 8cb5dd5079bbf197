import { type CronItem, parseCronItems, type Task } from 'graphile-worker';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.ts';
import { pruneIdentity, SESSION_IDLE_MS } from '../identity/index.ts';

/** The graphile-worker task (and cron identifier) of the hourly cleanup. */
export const CLEANUP_TASK = 'cleanup';
/** Idempotency-Key claims are kept this long (the contract promises at least 24 hours). */
export const IDEMPOTENCY_KEYS_KEPT_MS = 7 * 24 * 3600_000;

/**
 * The cleanup as graphile-worker's cron runs it: hourly at minute 17. graphile-worker's cron schedules each
 * tick once whatever number of workers run it (its `known_crontabs` row), and a missed tick is not caught
 * up (nothing is lost by waiting an hour more).
 */
export const CLEANUP_CRON = parseCronItems([
  { task: CLEANUP_TASK, match: '17 * * * *', identifier: CLEANUP_TASK, options: { backfillPeriod: 0, maxAttempts: 3 } },
] satisfies CronItem[]);

/**
 * Removes what is past use and no longer lets anyone in (issue 21 item 14): ended sessions, used or expired
 * invite links and old throttling windows (`pruneIdentity`), and Idempotency-Key claims older than
 * {@link IDEMPOTENCY_KEYS_KEPT_MS} (a create retried after that still replays: its id is derived from the
 * key and the stream's first event carries the request hash).
 */
export async function runCleanup(deps: { readonly db: Kysely<Database>; readonly clock: () => Date; readonly log?: Logger }) {
  const now = deps.clock();
  const identity = await pruneIdentity(deps.db, now, SESSION_IDLE_MS);
  const keys = await sql`delete from idempotency_keys where claimed_at < ${new Date(now.getTime() - IDEMPOTENCY_KEYS_KEPT_MS)}`.execute(
    deps.db,
  );
  const pruned = { ...identity, idempotencyKeys: Number(keys.numAffectedRows ?? 0n) };
  deps.log?.info(
    { event: 'cleanup', ...pruned },
    'cleanup removed ended sessions, used links, old throttling windows and old idempotency claims',
  );
  return pruned;
}

/** The cleanup task for the worker's task list. */
export const cleanupTask =
  (deps: Parameters<typeof runCleanup>[0]): Task =>
  async () => {
    await runCleanup(deps);
  };
