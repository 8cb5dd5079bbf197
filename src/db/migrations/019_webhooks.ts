import { type Kysely, sql } from 'kysely';

/**
 * Outbound webhooks (CONTRACT §9): endpoints with their secrets and delivery health, one delivery per
 * (event, endpoint) recorded by the `reactor:webhook-deliveries` subscriber in its checkpoint's
 * transaction, and every attempt of each. Operational data: the audit trail of endpoints is on the org
 * stream (events carry a secret's fingerprint only).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table webhook_endpoints (
      id uuid primary key,
      org_id uuid not null,
      url text not null,
      events text[] not null,
      description text,
      secret text not null,
      -- after a rotation the previous secret still signs (beside the new one) until it expires
      previous_secret text,
      previous_secret_expires_at timestamptz,
      status text not null default 'active' check (status in ('active', 'disabled', 'removed')),
      created_at timestamptz not null,
      removed_at timestamptz,
      disabled_at timestamptz,
      -- health: the last attempt's answer, failures in a row, since when it fails without a success
      last_status int,
      last_attempt_at timestamptz,
      failures_in_a_row int not null default 0,
      failing_since timestamptz
    );
    create index webhook_endpoints_org on webhook_endpoints (org_id, status);

    create table webhook_deliveries (
      -- the webhook-id header: one per event and endpoint, the same on every retry and replay
      id text primary key,
      seq bigserial not null unique,
      org_id uuid not null,
      endpoint_id uuid not null references webhook_endpoints (id),
      event_id uuid not null,
      event_type text not null,
      -- the stream the event is about (booking-<id>, lead-<id>): deliveries of one resource go in order
      resource text not null,
      body text not null,
      status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
      attempts int not null default 0,
      next_attempt_at timestamptz not null,
      last_status int,
      last_error text,
      created_at timestamptz not null default now(),
      delivered_at timestamptz,
      unique (event_id, endpoint_id)
    );
    create index webhook_deliveries_next on webhook_deliveries (endpoint_id, resource, seq) where status = 'pending';
    create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, seq);

    create table webhook_attempts (
      id bigserial primary key,
      delivery_id text not null references webhook_deliveries (id),
      started_at timestamptz not null,
      duration_ms int,
      status int,
      error text,
      response_body text,
      -- the job and the worker pool that made the attempt (fencing)
      job_id bigint,
      holder text
    );
    create index webhook_attempts_delivery on webhook_attempts (delivery_id, id);

    -- Like the process manager, deliveries start at the store's head as of this migration.
    insert into projection_checkpoints (name, commit_position, prepare_position, seed_at_head)
    select 'reactor:webhook-deliveries', e.transaction_id::text::numeric, e.global_position, true
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
  await sql`
    drop table webhook_attempts; drop table webhook_deliveries; drop table webhook_endpoints;
    delete from projection_checkpoints where name = 'reactor:webhook-deliveries';
  `.execute(db);
}
