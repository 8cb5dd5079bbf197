import { type Kysely, sql } from 'kysely';

/**
 * Sign-in attempts counted atomically per key ('account:<email>' or 'address:<ip or /64>') in a fixed window:
 * one upsert both counts the attempt and returns the count, so parallel attempts cannot all pass a check
 * made before any of them was recorded. Replaces `login_failures` (left in place, no longer written).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table login_attempts (
      key text primary key,
      window_started_at timestamptz not null,
      attempts integer not null
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table login_attempts;`.execute(db);
}
