import { sql } from 'kysely';
import type { Db } from '../db/kysely.ts';

/** The PostgreSQL channel on which a change of someone's access is announced to every process. */
export const ACCESS_CHANGED_CHANNEL = 'access_changed';

/**
 * Tells every process that someone's access changed (a session ended, a password, role or membership
 * changed), after the change committed, so open live feeds re-check at once instead of at their next
 * periodic re-check. Only a hint: the sessions table and the org's members stay the truth, and a lost
 * notice only delays the close to that re-check.
 */
export async function announceAccessChanged(db: Db): Promise<void> {
  await sql`select pg_notify(${ACCESS_CHANGED_CHANNEL}, '')`.execute(db);
}
