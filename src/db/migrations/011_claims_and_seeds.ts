import { type Kysely, sql } from 'kysely';

/**
 * Write-side claims that webhooks and the CLI read synchronously (never a read model that may lag):
 * which org a business number belongs to, which org a Stripe customer is linked to (with the Stripe
 * events that arrived before that link), and the seeding of the process manager's checkpoint at the
 * store's head when the store is not PostgreSQL (migration 005 could only see `es_events`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One owner per business number, claimed atomically by org create/configure --phone.
    create table org_phone_claims (
      phone text primary key,
      org_id uuid not null,
      -- the org the number was last moved away from (--move-phone), until that org has recorded the move
      moved_from uuid,
      claimed_at timestamptz not null default now()
    );
    insert into org_phone_claims (phone, org_id) select phone, org_id from org_phones on conflict do nothing;

    -- Stripe customer -> org, set by checkout.session.completed (or a subscription's metadata.orgId).
    -- pending: subscription events that arrived before the link, applied when it appears.
    create table stripe_customer_links (
      customer_id text primary key,
      org_id uuid,
      pending jsonb not null default '[]'::jsonb,
      updated_at timestamptz not null default now()
    );
    insert into stripe_customer_links (customer_id, org_id)
    select distinct on (stripe_customer_id) stripe_customer_id, id from orgs
     where stripe_customer_id is not null order by stripe_customer_id, created_at
    on conflict do nothing;

    -- A subscriber whose checkpoint must be set to the store's head by the first process that opens
    -- the store (see seedCheckpoints): the process manager, if it has never handled anything.
    alter table projection_checkpoints add column seed_at_head boolean not null default false;
    update projection_checkpoints set seed_at_head = true
     where name = 'automation:process-manager' and commit_position is null and events_handled = 0;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table projection_checkpoints drop column seed_at_head;
    drop table stripe_customer_links;
    drop table org_phone_claims;
  `.execute(db);
}
