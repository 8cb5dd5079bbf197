import { type Kysely, sql } from 'kysely';

/**
 * The team inbox: leads gain "waiting since" and "last inbound" columns (the list orders and filters on
 * them), and members get read markers.
 *
 * `lead_reads` is plain per-member UI state, not an event: whether Dana has opened a lead is no fact
 * about the lead, decides nothing in any aggregate, is written on every click and is worthless to an
 * audit; losing it costs a bold row in a list. It is not a read model either, so rebuilds never touch it.
 *
 * The `leads` read model is replayed from the first event (rows and checkpoint reset here) so existing
 * leads get the new columns; the projector does that on its next start.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table leads add column waiting_since timestamptz, add column last_inbound_at timestamptz;
    create index leads_org_waiting on leads (org_id, waiting_since, id);
    truncate leads;
    delete from projection_checkpoints where name = 'leads';

    create table lead_reads (
      member_id text not null,
      lead_id uuid not null,
      org_id uuid not null,
      -- the lead's last inbound contact the member has seen
      read_up_to timestamptz not null,
      updated_at timestamptz not null default now(),
      primary key (member_id, lead_id)
    );
    create index lead_reads_org on lead_reads (org_id, member_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table lead_reads;
    drop index leads_org_waiting;
    alter table leads drop column waiting_since, drop column last_inbound_at;
  `.execute(db);
}
