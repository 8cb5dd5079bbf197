import { type Kysely, sql } from 'kysely';

/**
 * `contact_consent`: the consent of each (org, phone) as its consent stream says (projection
 * `contact_consent`), so lead lists show it without reading a stream per lead. Sends never trust it: they
 * read the stream itself under the contact's consent lock (automation/may-text.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table contact_consent (
      org_id uuid not null,
      phone text not null,
      status text not null check (status in ('opted_out', 'opted_in')),
      since timestamptz not null,
      source text not null,
      primary key (org_id, phone)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table contact_consent`.execute(db);
}
