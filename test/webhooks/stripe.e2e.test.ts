import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import t from 'tap';
import { testApp } from '../support/app.ts';
import { eventCount, postStripe, PROVIDER_ENV, settle, subscriptionEvent } from './fixtures/providers.ts';

const ctx = await testApp(t, { env: PROVIDER_ENV });
const { app, database } = ctx;

const customerId = () => `cus_${randomBytes(7).toString('hex')}`;

async function billing(orgId: string): Promise<{ status: string; customer: string | null }> {
  await settle(ctx);
  const { rows } = await database.pool.query<{ billing_status: string; stripe_customer_id: string | null }>(
    'select billing_status, stripe_customer_id from orgs where id = $1',
    [orgId],
  );
  return { status: rows[0]!.billing_status, customer: rows[0]!.stripe_customer_id };
}

function checkoutCompleted(orgId: string, customer: string) {
  return {
    id: `evt_${randomBytes(12).toString('hex')}`,
    object: 'event',
    created: Math.floor(Date.now() / 1000),
    type: 'checkout.session.completed',
    data: {
      object: {
        id: 'cs_test_a1b2c3',
        object: 'checkout.session',
        mode: 'subscription',
        client_reference_id: orgId,
        customer,
        subscription: 'sub_123',
      },
    },
  };
}

/** An org whose Stripe customer is linked (through checkout, as in production). */
async function linkedOrg(): Promise<{ orgId: string; customer: string }> {
  const orgId = await ctx.createOrg();
  const customer = customerId();
  await settle(ctx);
  const res = await postStripe(app, checkoutCompleted(orgId, customer));
  if (res.statusCode !== 200) throw new Error(`link failed: ${res.body}`);
  return { orgId, customer };
}

t.test('a checkout session links the Stripe customer to the org named by client_reference_id', async (t) => {
  const orgId = await ctx.createOrg();
  const customer = customerId();
  const res = await postStripe(app, checkoutCompleted(orgId, customer));
  t.equal(res.statusCode, 200);
  t.same(res.json(), { received: true, result: 'changed' });
  t.same(await billing(orgId), { status: 'active', customer });
});

t.test('a signed subscription event changes the billing status once, however often it is delivered', async (t) => {
  const { orgId, customer } = await linkedOrg();
  await settle(ctx);
  const event = subscriptionEvent({ customer, status: 'past_due' });
  const before = await eventCount(database, 'OrgBillingStatusChanged');
  const first = await postStripe(app, event);
  t.equal(first.statusCode, 200);
  t.same(first.json(), { received: true, result: 'changed' });
  for (let i = 0; i < 9; i++) {
    const again = await postStripe(app, event);
    t.equal(again.statusCode, 200);
    t.same(again.json(), { received: true, result: 'duplicate' });
  }
  t.equal(await eventCount(database, 'OrgBillingStatusChanged'), before + 1);
  t.same(await billing(orgId), { status: 'past_due', customer });
});

t.test('10 concurrent deliveries of one Stripe event change the status once', async (t) => {
  const { orgId, customer } = await linkedOrg();
  await settle(ctx);
  const event = subscriptionEvent({ customer, status: 'unpaid' });
  const before = await eventCount(database, 'OrgBillingStatusChanged');
  const responses = await Promise.all(Array.from({ length: 10 }, () => postStripe(app, event)));
  for (const res of responses) t.equal(res.statusCode, 200);
  t.same(
    responses.map((r) => (r.json() as { result: string }).result).sort(),
    ['changed', ...Array(9).fill('duplicate')],
    'one delivery changed it, the other nine were duplicates',
  );
  t.equal(await eventCount(database, 'OrgBillingStatusChanged'), before + 1);
  t.equal((await billing(orgId)).status, 'unpaid');
});

t.test('a deleted subscription cancels billing', async (t) => {
  const { orgId, customer } = await linkedOrg();
  await settle(ctx);
  await postStripe(app, subscriptionEvent({ type: 'customer.subscription.deleted', customer, status: 'active' }));
  t.equal((await billing(orgId)).status, 'canceled');
});

t.test('an older event delivered after a newer one does not undo it', async (t) => {
  const { orgId, customer } = await linkedOrg();
  await settle(ctx);
  const now = Math.floor(Date.now() / 1000);
  await postStripe(app, subscriptionEvent({ customer, status: 'canceled', created: now }));
  const late = await postStripe(app, subscriptionEvent({ customer, status: 'past_due', created: now - 60 }));
  t.same(late.json(), { received: true, result: 'stale' });
  t.equal((await billing(orgId)).status, 'canceled');
});

t.test('a subscription whose metadata names the org links it when the customer is new', async (t) => {
  const orgId = await ctx.createOrg();
  const customer = customerId();
  await postStripe(app, subscriptionEvent({ type: 'customer.subscription.created', customer, status: 'trialing', metadata: { orgId } }));
  t.same(await billing(orgId), { status: 'trialing', customer });
});

t.test('an event for a customer no org is linked to is acknowledged, held until a checkout links it, and records no event', async (t) => {
  const before = await eventCount(database);
  const res = await postStripe(
    app,
    subscriptionEvent({ customer: customerId(), status: 'canceled', metadata: { orgId: '00000000-0000-4000-8000-000000000000' } }),
  );
  t.equal(res.statusCode, 200);
  t.same(res.json(), { received: true, result: 'held_until_customer_linked' });
  const other = await postStripe(app, { ...subscriptionEvent({ customer: customerId(), status: 'active' }), type: 'invoice.paid' });
  t.same(other.json(), { received: true, ignored: 'event_type_not_used' });
  t.equal(await eventCount(database), before);
});

t.test('a missing, wrong or expired Stripe-Signature is 403 and records nothing', async (t) => {
  const { orgId, customer } = await linkedOrg();
  await settle(ctx);
  const before = await eventCount(database);
  const event = subscriptionEvent({ customer, status: 'canceled' });
  const tooOld = Math.floor(Date.now() / 1000) - 301;
  for (const res of [
    await postStripe(app, event, { signature: null }),
    await postStripe(app, event, { secret: 'whsec_someone_else' }),
    await postStripe(app, event, { timestamp: tooOld }),
    await postStripe(app, event, { signature: 't=1,v1=deadbeef' }),
  ]) {
    t.equal(res.statusCode, 403);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.equal((res.json() as { code: string }).code, 'invalid_signature');
  }
  // A body changed after signing: the signature no longer matches.
  const payload = JSON.stringify(event);
  const signed = await postStripe(app, payload.replace('canceled', 'active'), {
    signature: Stripe.webhooks.generateTestHeaderString({ payload, secret: PROVIDER_ENV.STRIPE_WEBHOOK_SECRET }),
  });
  t.equal(signed.statusCode, 403);
  t.equal(await eventCount(database), before, 'nothing recorded');
  t.equal((await billing(orgId)).status, 'active');
});

t.test('a signed body that is not a Stripe event is 400 with the fields named', async (t) => {
  const before = await eventCount(database);
  const notJson = await postStripe(app, '{"id": "evt_1", ');
  t.equal(notJson.statusCode, 400);
  t.match(notJson.json(), { code: 'validation_failed', errors: [{ path: 'body' }] });
  const noId = await postStripe(app, { object: 'event', type: 'customer.subscription.updated', created: 1, data: { object: {} } });
  t.equal(noId.statusCode, 400);
  t.match(noId.json(), { code: 'validation_failed', errors: [{ path: 'body.id' }] });
  t.equal(await eventCount(database), before);
});
