import { type Kysely, sql } from 'kysely';

/**
 * The org's texts to one number are looked up at every automated send: whether it is the first (the
 * opt-out line, CONTRACT §8) and whether the caller was texted back or answered within the text-back
 * cooldown (CONTRACT §10). An index on (org, number) keeps that a lookup as the ledger grows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index outbound_messages_org_to on outbound_messages (org_id, "to", kind)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index outbound_messages_org_to`.execute(db);
}
