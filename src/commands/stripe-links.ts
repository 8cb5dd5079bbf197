import { type Kysely, sql } from 'kysely';
import type { Database, PendingStripeEvent } from '../db/schema.ts';
import type { CommandDeps } from './context.ts';
import { findOrg } from './org-reads.ts';

/** Where a Stripe event goes: to an org (with the events that waited for its customer's link), held, or nowhere. */
export type StripeRoute =
  { readonly orgId: string; readonly pending: PendingStripeEvent[] } | { readonly held: true } | { readonly unknown: true };

async function existingOrg(deps: Pick<CommandDeps, 'store'>, orgId: string | undefined): Promise<string | undefined> {
  if (!orgId) return undefined;
  return (await findOrg(deps, orgId))?.id;
}

/**
 * Routes a Stripe event through `stripe_customer_links`, which the webhook writes itself (so it never
 * lags like a read model): the customer's linked org; else the org the event names (`hintOrgId`: a
 * checkout's `client_reference_id`, a subscription's `metadata.orgId`) or, for links made before this
 * table existed, the read model's (`legacyOrgId`), which becomes the link. A
 * subscription event (`hold`) for a customer no org is linked to yet is kept on the customer's row and
 * handed back with the link when it appears. The customer's row is locked for the decision, so a
 * subscription event and the checkout that links its customer cannot miss each other, in either order.
 */
export async function routeStripeEvent(
  deps: Pick<CommandDeps, 'store'> & { db: Kysely<Database> },
  input: { customerId?: string; hintOrgId?: string; legacyOrgId?: string; hold?: PendingStripeEvent },
): Promise<StripeRoute> {
  const hinted = await existingOrg(deps, input.hintOrgId);
  const customerId = input.customerId;
  if (!customerId) return hinted ? { orgId: hinted, pending: [] } : { unknown: true };
  return deps.db.transaction().execute(async (trx): Promise<StripeRoute> => {
    await trx
      .insertInto('stripe_customer_links')
      .values({ customer_id: customerId })
      .onConflict((c) => c.column('customer_id').doNothing())
      .execute();
    const row = await trx
      .selectFrom('stripe_customer_links')
      .select(['org_id', 'pending'])
      .where('customer_id', '=', customerId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const orgId = row.org_id ?? hinted ?? input.legacyOrgId;
    if (orgId) {
      if (!row.org_id)
        await trx
          .updateTable('stripe_customer_links')
          .set({ org_id: orgId, updated_at: new Date() })
          .where('customer_id', '=', customerId)
          .execute();
      return { orgId, pending: row.pending };
    }
    if (!input.hold) return { unknown: true };
    const hold = input.hold;
    if (!row.pending.some((p) => p.eventId === hold.eventId)) {
      await trx
        .updateTable('stripe_customer_links')
        .set({ pending: JSON.stringify([...row.pending, hold]), updated_at: new Date() })
        .where('customer_id', '=', customerId)
        .execute();
    }
    return { held: true };
  });
}

/** Forgets held events once they were applied to the customer's org. */
export async function forgetHeld(db: Kysely<Database>, customerId: string, eventIds: readonly string[]): Promise<void> {
  if (!eventIds.length) return;
  await sql`
    update stripe_customer_links
       set pending = coalesce((select jsonb_agg(p) from jsonb_array_elements(pending) p where not (p->>'eventId' = any(${[...eventIds]}::text[]))), '[]'::jsonb),
           updated_at = now()
     where customer_id = ${customerId}`.execute(db);
}
