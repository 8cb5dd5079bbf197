import { type Kysely, sql } from 'kysely';

/** Read models of orgs, credentials and bookings. Every row carries org_id; every query filters by it. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table orgs (
      id uuid primary key,
      org_id uuid not null generated always as (id) stored,
      name text not null,
      timezone text not null,
      billing_status text not null,
      -- not unique: a projection must never fail on data another org already recorded
      stripe_customer_id text,
      state jsonb not null,
      version int not null,
      created_at timestamptz not null,
      updated_at timestamptz not null
    );

    create index orgs_stripe_customer on orgs (stripe_customer_id);

    create table org_phones (
      phone text primary key,
      org_id uuid not null
    );
    create index org_phones_org on org_phones (org_id);

    create table credentials (
      id uuid primary key,
      org_id uuid not null,
      kind text not null,
      label text not null,
      scopes text[] not null,
      token_hash text not null unique,
      member_id uuid,
      role text,
      expires_at timestamptz,
      revoked_at timestamptz,
      created_at timestamptz not null
    );
    create index credentials_org on credentials (org_id, created_at);

    -- Not a projection: written on use, so rebuilds neither need nor lose it.
    create table credential_usage (
      credential_id uuid primary key,
      last_used_at timestamptz not null
    );

    create table bookings (
      id uuid primary key,
      org_id uuid not null,
      status text not null,
      window_start timestamptz not null,
      window_end timestamptz not null,
      customer_phone text not null,
      lead_id uuid,
      state jsonb not null,
      version int not null,
      updated_at timestamptz not null
    );
    -- list by date range (optionally by status), ordered by window.start then id, keyset-paginated
    create index bookings_org_window on bookings (org_id, window_start, id);
    create index bookings_org_status_window on bookings (org_id, status, window_start, id);
    create index bookings_org_phone on bookings (org_id, customer_phone);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table bookings; drop table credential_usage; drop table credentials; drop table org_phones; drop table orgs;`.execute(db);
}
