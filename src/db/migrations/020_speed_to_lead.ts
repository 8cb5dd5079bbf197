import { type Kysely, sql } from 'kysely';

/**
 * Speed to lead (CONTRACT §10): the `leads` read model gains the assignee the inbox filters on
 * (Mine / Unassigned / All). No lead was assigned before this migration, so existing rows are right
 * with a null assignee and nothing is replayed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table leads add column assignee_id uuid;
    create index leads_org_assignee on leads (org_id, assignee_id, last_activity_at desc);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index leads_org_assignee;
    alter table leads drop column assignee_id;
  `.execute(db);
}
