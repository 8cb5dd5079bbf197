import { type Kysely, sql } from 'kysely';

/** Read models of leads and their timelines. Every row carries org_id; every query filters by it. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table leads (
      id uuid primary key,
      org_id uuid not null,
      caller_phone text not null,
      generation int not null,
      status text not null,
      missed_calls int not null,
      inbound_texts int not null,
      outbound_texts int not null,
      bookings int not null,
      last_activity_at timestamptz not null,
      state jsonb not null,
      version int not null,
      created_at timestamptz not null,
      updated_at timestamptz not null
    );
    -- list newest activity first (optionally by status), keyset-paginated on (last_activity_at, id)
    create index leads_org_activity on leads (org_id, last_activity_at desc, id desc);
    create index leads_org_status_activity on leads (org_id, status, last_activity_at desc, id desc);
    create index leads_org_caller on leads (org_id, caller_phone, generation);

    create table lead_timeline (
      lead_id uuid not null,
      revision int not null,
      org_id uuid not null,
      event_id uuid not null,
      event_type text not null,
      kind text not null,
      occurred_at timestamptz not null,
      actor jsonb not null,
      summary text not null,
      details jsonb not null,
      message_id text,
      primary key (lead_id, revision)
    );
    create index lead_timeline_org_lead on lead_timeline (org_id, lead_id, revision);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table lead_timeline; drop table leads;`.execute(db);
}
