import { type Kysely, sql } from 'kysely';

/**
 * On-call alerts and round-robin assignment (CONTRACT §10), decided in the database so any number of
 * worker processes agree:
 * - `staff_alert_claims`: one row per lead, the alert that last went out about it; a new alert claims the
 *   row only when the last one is at least 15 minutes older (one conditional upsert, so two workers never
 *   both win), and the same trigger claims it again on a retry;
 * - `round_robin_turns`: per org, the member who got the last lead (the rotation goes on after them);
 * - `round_robin_picks`: per lead, the member the rotation picked (a retried job reuses the pick instead
 *   of moving the rotation again).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table staff_alert_claims (
      lead_id uuid primary key,
      org_id uuid not null,
      trigger_event_id text not null,
      claimed_at timestamptz not null
    );
    create table round_robin_turns (
      org_id uuid primary key,
      last_member_id uuid not null,
      last_key text not null,
      updated_at timestamptz not null
    );
    create table round_robin_picks (
      lead_id uuid primary key,
      org_id uuid not null,
      member_id uuid not null,
      picked_at timestamptz not null
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table round_robin_picks;
    drop table round_robin_turns;
    drop table staff_alert_claims;
  `.execute(db);
}
