import { randomBytes, randomUUID } from 'node:crypto';
import { runOnce } from 'graphile-worker';
import t from 'tap';
import { logMessaging } from '../../src/automation/messaging/log.ts';
import { processManager } from '../../src/automation/process-manager-runner.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { taskList } from '../../src/automation/tasks.ts';
import { graphileLogger } from '../../src/automation/worker.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { loadOrg } from '../../src/commands/org-reads.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { migrateJobQueue } from '../../src/db/migrate.ts';
import { operator, testApp } from '../support/app.ts';
import { daytimeZone, NO_PLACE } from '../support/daytime.ts';
import { PROVIDER_ENV, postStripe, postTwilio, sid, subscriptionEvent, voiceStatusCallback } from './fixtures/providers.ts';

/**
 * Providers send related events within milliseconds, before any projector has run. Nothing here runs a
 * projection between the events: routing must not depend on the read models.
 */
const ctx = await testApp(t, { env: PROVIDER_ENV });
const { app, services, database } = ctx;
await migrateJobQueue(database.pool);

const customerId = () => `cus_${randomBytes(7).toString('hex')}`;
const checkoutCompleted = (orgId: string, customer: string, created: number) => ({
  id: `evt_${randomBytes(12).toString('hex')}`,
  object: 'event',
  created,
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
});

/** A booking's confirmation runs through the real tasks; returns the booking's event types and what was sent. */
async function confirmationOf(orgId: string) {
  const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'Dispatch board' }, correlationId: randomUUID() };
  const { booking, position } = await createBooking(services, caller, {
    customer: { name: 'Dana Diaz', phone: `${NO_PLACE}5550199` },
    window: { start: '2031-06-02T15:00:00Z', end: '2031-06-02T17:00:00Z' },
  });
  // Up to the booking itself: on a loaded machine a commit may take a moment to become visible to readers.
  await catchUp(services, processManager, { until: position });
  await runOnce({
    pgPool: database.pool,
    taskList: taskList({ ...services, messaging: logMessaging(services) }),
    logger: graphileLogger(),
  });
  const types = (await services.store.readStream(`booking-${booking.id}`)).map((e) => e.type);
  const { rows } = await database.pool.query('select job_key from outbound_messages where org_id = $1', [orgId]);
  return { types, sent: rows.length };
}

for (const order of [
  'subscription.deleted before checkout.session.completed',
  'subscription.deleted after checkout.session.completed',
] as const) {
  t.test(`${order}, nothing projected in between: the org is canceled and automation stays paused`, async (t) => {
    const orgId = await ctx.createOrg({ name: `Canceled ${order.slice(22, 28)} HVAC`, timezone: daytimeZone() });
    const customer = customerId();
    const now = Math.floor(Date.now() / 1000);
    const checkout = checkoutCompleted(orgId, customer, now);
    const deleted = subscriptionEvent({ type: 'customer.subscription.deleted', customer, status: 'canceled', created: now });
    const first = order.includes('before') ? deleted : checkout;
    const second = order.includes('before') ? checkout : deleted;
    const a = await postStripe(app, first);
    const b = await postStripe(app, second);
    t.equal(a.statusCode, 200);
    t.equal(b.statusCode, 200);
    if (order.includes('before'))
      t.same(a.json(), { received: true, result: 'held_until_customer_linked' }, 'acknowledged because it is kept, not dropped');
    t.not(b.json().ignored, 'unknown_customer');
    const org = await loadOrg(services, orgId);
    t.equal(org.billingStatus, 'canceled', 'canceled in the org stream');
    t.equal(org.stripeCustomerId, customer);
    const again = await postStripe(app, deleted);
    t.equal(again.json().result, 'duplicate', 'a redelivery changes nothing');
    const { types, sent } = await confirmationOf(orgId);
    t.ok(types.includes('ConfirmationSkipped'), `confirmation skipped: ${types.join(', ')}`);
    t.equal(sent, 0, 'nothing sent to a canceled org');
  });
}

t.test('a missed call to a number added a moment ago (not projected yet) is recorded for its org', async (t) => {
  const orgId = await ctx.createOrg({ name: 'Fresh Number HVAC', phones: ['+15125550140'] });
  await configureOrg(services, operator(orgId), { orgId, changes: {}, addPhones: ['+15125550141'] });
  const callSid = sid('CA');
  const res = await postTwilio(
    app,
    '/webhooks/twilio/voice',
    voiceStatusCallback({ callSid, from: '+15125550123', to: '+15125550141', status: 'no-answer' }),
  );
  t.equal(res.statusCode, 200);
  const { rows } = await database.pool.query(
    "select org_id from es_events where event_type = 'MissedCallRecorded' and data->>'callSid' = $1",
    [callSid],
  );
  t.same(rows, [{ org_id: orgId }]);
});
