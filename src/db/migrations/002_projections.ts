import { type Kysely, sql } from 'kysely';

/** Checkpoints of projectors and the process manager, written in the same transaction as their effects. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table projection_checkpoints (
      name text primary key,
      commit_position numeric(20, 0),
      prepare_position numeric(20, 0),
      events_handled bigint not null default 0,
      updated_at timestamptz not null default now()
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table projection_checkpoints`.execute(db);
}
