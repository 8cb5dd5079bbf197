import { type Kysely, sql } from 'kysely';
import { ASSIGNABLE_ROLES } from '../commands/leads.ts';
import type { Database } from '../db/schema.ts';
import type { Org } from '../domain/org.ts';

/** A member's place in the rotation: by email (lowercased), then id, so the order is stable and readable. */
const placeOf = (m: { memberId: string; email: string }) => `${m.email.toLowerCase()}\n${m.memberId}`;

/**
 * The member a new lead of `org` goes to under round-robin (CONTRACT §10): the next current owner, admin
 * or member after the one who got the org's last lead, in email order (wrapping around; a removed member's
 * place is simply passed). The turn is kept in PostgreSQL and moved under its row lock, so concurrent
 * workers hand consecutive leads to consecutive members; the pick is kept per lead, so a retried job
 * reuses it instead of moving the turn again. Undefined: nobody to assign.
 */
export async function pickRoundRobin(db: Kysely<Database>, org: Org, leadId: string, now: Date): Promise<string | undefined> {
  const rotation = org.members
    .filter((m) => ASSIGNABLE_ROLES.includes(m.role))
    .map((m) => ({ memberId: m.memberId, place: placeOf(m) }))
    .sort((a, b) => (a.place < b.place ? -1 : a.place > b.place ? 1 : 0));
  if (!rotation.length) return undefined;
  return db.transaction().execute(async (trx) => {
    await sql`
      insert into round_robin_turns (org_id, last_member_id, last_key, updated_at)
      values (${org.id}::uuid, '00000000-0000-0000-0000-000000000000', '', ${now.toISOString()}::timestamptz)
      on conflict (org_id) do nothing`.execute(trx);
    const { rows } = await sql<{ last_key: string }>`
      select last_key from round_robin_turns where org_id = ${org.id}::uuid for update`.execute(trx);
    const picked = await trx.selectFrom('round_robin_picks').select('member_id').where('lead_id', '=', leadId).executeTakeFirst();
    if (picked) return picked.member_id;
    const last = rows[0]!.last_key;
    const next = rotation.find((m) => m.place > last) ?? rotation[0]!;
    await trx
      .updateTable('round_robin_turns')
      .set({ last_member_id: next.memberId, last_key: next.place, updated_at: now.toISOString() })
      .where('org_id', '=', org.id)
      .execute();
    await trx
      .insertInto('round_robin_picks')
      .values({ lead_id: leadId, org_id: org.id, member_id: next.memberId, picked_at: now.toISOString() })
      .execute();
    return next.memberId;
  });
}
