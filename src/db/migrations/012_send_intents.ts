import { type Kysely, sql } from 'kysely';

/**
 * Fencing of outbound messages: a send first records its intent in `outbound_messages` (state `sending`,
 * the job and the worker pool holding it), in the same statement that checks that pool still holds the
 * job; the row becomes `sent` with the provider's id after. A row left `sending` means the outcome is
 * unknown (the worker lost its lease mid-send): it is never sent again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table outbound_messages
      alter column message_id drop not null,
      alter column sent_at drop not null,
      add column state text not null default 'sent' check (state in ('sending', 'sent')),
      add column job_id bigint,
      add column holder text;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    delete from outbound_messages where state <> 'sent';
    alter table outbound_messages drop column holder, drop column job_id, drop column state,
      alter column sent_at set not null, alter column message_id set not null;
  `.execute(db);
}
