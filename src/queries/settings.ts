import { type Org, type OrgSettings, settingsOf } from '../domain/org.ts';
import type { Db } from '../db/kysely.ts';

/** An org's automation settings as the internal API shows them. */
export interface SettingsView {
  readonly orgId: string;
  readonly name: string;
  readonly timezone: string;
  readonly phones: string[];
  readonly billingStatus: string;
  readonly settings: OrgSettings;
  readonly version: number;
}

/** The settings view of an org's state (the read model's, or the one a command returned). */
export function toSettingsView(org: Org): SettingsView {
  return {
    orgId: org.id,
    name: org.name,
    timezone: org.timezone,
    phones: org.phones,
    billingStatus: org.billingStatus,
    settings: settingsOf(org),
    version: org.version,
  };
}

/** Settings of one org from the `orgs` read model. */
export async function getSettings(db: Db, orgId: string): Promise<SettingsView | undefined> {
  const row = await db.selectFrom('orgs').select('state').where('org_id', '=', orgId).executeTakeFirst();
  return row ? toSettingsView(row.state as Org) : undefined;
}

/** The org a Stripe customer id is linked to (billing webhooks are routed by it). */
export async function orgIdByStripeCustomer(db: Db, stripeCustomerId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('orgs')
    .select('id')
    .where('stripe_customer_id', '=', stripeCustomerId)
    .orderBy('created_at')
    .executeTakeFirst();
  return row?.id;
}
