import type { Org } from '../domain/org.ts';
import type { Db } from '../db/kysely.ts';

/** An org from the read model. */
export async function getOrg(db: Db, orgId: string): Promise<Org | undefined> {
  const row = await db.selectFrom('orgs').select('state').where('id', '=', orgId).executeTakeFirst();
  return row?.state as Org | undefined;
}

/**
 * The org a business number belongs to (provider webhooks are routed by it): its claim, written before
 * the org's event (so a number added a moment ago routes at once), else the read model (numbers
 * recorded without a claim).
 */
export async function orgIdByPhone(db: Db, phone: string): Promise<string | undefined> {
  const claim = await db.selectFrom('org_phone_claims').select('org_id').where('phone', '=', phone).executeTakeFirst();
  if (claim) return claim.org_id;
  const row = await db.selectFrom('org_phones').select('org_id').where('phone', '=', phone).executeTakeFirst();
  return row?.org_id;
}
