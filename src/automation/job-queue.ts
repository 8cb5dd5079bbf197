import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { JobIntent } from './process-manager.ts';

/**
 * Attempts per job. graphile-worker waits exp(min(attempt, 10)) seconds between attempts, so 8 attempts
 * span about half an hour (3 s, 7 s, 20 s, 55 s, 2.5 min, 7 min, 18 min) before the last attempt records
 * the failure as evidence (`...Failed`) instead of throwing.
 */
export const MAX_ATTEMPTS = 8;

/**
 * Applies intents in order through graphile-worker's SQL API, inside the caller's transaction (migration
 * 016's `apply_job_intents`, one statement): `add_job(..., job_key, job_key_mode => 'replace')` (a pending
 * job under the key is replaced, so an intent applied twice leaves one job) or `remove_job(job_key)`.
 * These are the documented SQL forms of `WorkerUtils.addJob`/`removeJob`; the JavaScript ones run on a
 * pool connection of their own, and the jobs must commit or roll back with the process manager's checkpoint.
 */
export async function applyIntents(q: Kysely<Database>, intents: readonly JobIntent[]): Promise<void> {
  if (intents.length === 0) return;
  await sql`select apply_job_intents(${JSON.stringify(intents)}::jsonb, ${MAX_ATTEMPTS}::int)`.execute(q);
}

/** A queued job, for operators and tests. */
export interface QueuedJob {
  readonly id: string;
  readonly task: string;
  readonly key: string | null;
  readonly runAt: Date;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lockedBy: string | null;
  readonly lastError: string | null;
  readonly payload: Record<string, unknown>;
}

/**
 * Jobs in the queue (pending, running or permanently failed), by run time, from graphile-worker's public
 * `jobs` view. That view leaves the payload out and WorkerUtils has no reader, so the payload alone comes
 * from the private table, by id (operators and tests only; nothing writes there but graphile-worker).
 */
export async function listJobs(db: Kysely<Database>, options: { task?: string } = {}): Promise<QueuedJob[]> {
  const { rows } = await sql<{
    id: string;
    task: string;
    key: string | null;
    run_at: Date;
    attempts: number;
    max_attempts: number;
    locked_by: string | null;
    last_error: string | null;
    payload: Record<string, unknown>;
  }>`
    select j.id, j.task_identifier as task, j.key, j.run_at, j.attempts, j.max_attempts, j.locked_by, j.last_error,
           (select p.payload from graphile_worker._private_jobs p where p.id = j.id) as payload
      from graphile_worker.jobs j
     where ${options.task ?? null}::text is null or j.task_identifier = ${options.task ?? null}
     order by j.run_at, j.id`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    task: r.task,
    key: r.key,
    runAt: new Date(r.run_at),
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    lockedBy: r.locked_by,
    lastError: r.last_error,
    payload: r.payload,
  }));
}
