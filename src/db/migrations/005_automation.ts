import { type Kysely, sql } from 'kysely';

/**
 * Automation: the outbound message ledger and the process manager's starting checkpoint.
 * (graphile-worker's own `graphile_worker` schema is migrated by graphile-worker itself; see migrate.ts.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One row per outbound message (both adapters): what a local operator inspects, and what makes a
    -- retried job return the message already sent instead of sending it again.
    create table outbound_messages (
      job_key text primary key,
      message_id text not null unique,
      org_id uuid not null,
      provider text not null,
      kind text not null,
      "to" text not null,
      "from" text,
      body text not null,
      subject text not null,
      sent_at timestamptz not null,
      created_at timestamptz not null default now(),
      -- how many times a send was asked for this key (more than 1: a retry was absorbed)
      requests int not null default 1
    );
    create index outbound_messages_org on outbound_messages (org_id, created_at);

    -- graphile-worker pools (their id is what a job's locked_by holds) and the process they belong to:
    -- a process holds a session advisory lock on its token while it lives, so the jobs a dead process
    -- had locked can be released at once instead of after graphile-worker's 4 hours.
    create table automation_workers (
      pool_id text primary key,
      token text not null,
      pid int not null,
      host text not null,
      started_at timestamptz not null default now()
    );

    -- The process manager starts at the event store's head as of this migration: events recorded
    -- before automation existed are history, not work (no texts for last month's missed calls).
    -- Later replays and projection rebuilds never touch this row.
    insert into projection_checkpoints (name, commit_position, prepare_position)
    select 'automation:process-manager', e.transaction_id::text::numeric, e.global_position
      from (select null) as one
      left join lateral (
        select transaction_id, global_position from es_events
         where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         order by transaction_id desc, global_position desc limit 1
      ) e on true
    on conflict (name) do nothing;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table automation_workers; drop table outbound_messages; delete from projection_checkpoints where name = 'automation:process-manager';`.execute(
    db,
  );
}
