import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import t from 'tap';
import { startProcess } from '../../src/app.ts';
import { changeBooking, createBooking } from '../../src/commands/bookings.ts';
import { changeConsent } from '../../src/commands/consent.ts';
import { changeLeadStatus, recordMissedCall } from '../../src/commands/leads.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import { deliverPending } from '../../src/automation/webhooks/deliver.ts';
import { postWebhook } from '../../src/automation/webhooks/send.ts';
import { migrateJobQueue } from '../../src/db/migrate.ts';
import { testApp } from '../support/app.ts';
import { eventually, webhookReceiver } from '../support/webhook-receiver.ts';
import { PROVIDER_ENV, inboundSms, postTwilio, sid } from '../webhooks/fixtures/providers.ts';

/**
 * Outbound webhooks end to end on a real database: the webhook subscriber and job runners of a worker
 * process (as `serve`/`worker` run them), real local HTTP receivers, signatures checked with the
 * Standard Webhooks library (`standardwebhooks`), not with the code that signs.
 */
const ctx = await testApp(t, { env: { ...PROVIDER_ENV, WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_RETRY_DELAYS: '0.3,0.3,0.3' } });
const { services, app } = ctx;
await migrateJobQueue(ctx.database.pool);
const worker = await startProcess(services, { worker: { pollIntervalMs: 100, recoveryIntervalMs: 1000 } });
t.teardown(() => worker.stop());

const integration = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'integration', id: 'cred-test', label: 'Dispatch board' },
  correlationId: randomUUID(),
});

let slot = 0;
/** A free one-hour window in business hours (Chicago, CDT), distinct per call. */
function nextWindow() {
  const n = slot++;
  const day = new Date(Date.UTC(2031, 2, 10));
  let weekdays = Math.floor(n / 7);
  while (weekdays > 0 || day.getUTCDay() === 0 || day.getUTCDay() === 6) {
    day.setUTCDate(day.getUTCDate() + 1);
    if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6) weekdays--;
  }
  const start = new Date(day.getTime() + (14 + (n % 7)) * 3600_000);
  return { start: start.toISOString(), end: new Date(start.getTime() + 3600_000).toISOString() };
}

async function book(orgId: string) {
  const { booking } = await createBooking(services, integration(orgId), {
    customer: { name: 'Dana Diaz', phone: '+15125550199' },
    window: nextWindow(),
  });
  return booking.id;
}

async function register(orgId: string, url: string, events: string[]) {
  const admin = await ctx.memberToken(orgId, 'admin');
  const res = await app.inject({
    method: 'POST',
    url: '/api/internal/v1/webhook-endpoints',
    headers: { authorization: `Bearer ${admin.token}` },
    payload: { url, events },
  });
  t.equal(res.statusCode, 201, res.body);
  return { ...(res.json() as { id: string; secret: string }), admin: admin.token };
}

const verify = (secret: string, r: { body: string; headers: Record<string, string> }) => new Webhook(secret).verify(r.body, r.headers);

t.test('a receiver failing the first two attempts gets the delivery on the third, same webhook-id, signed', async (t) => {
  const orgId = await ctx.createOrg();
  const receiver = await webhookReceiver(t, (n) => (n < 2 ? 500 : 200));
  const endpoint = await register(orgId, receiver.url, ['booking.created']);
  const bookingId = await book(orgId);

  await eventually('three attempts', () => receiver.received.length >= 3);
  const [first, second, third] = receiver.received;
  t.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 1, 'one webhook-id across retries');
  t.match(first!.headers['webhook-id'], /^msg_[0-9a-f]{32}$/);
  for (const r of [first!, second!, third!]) t.ok(verify(endpoint.secret, r), 'verified by standardwebhooks');
  t.throws(() => verify(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, third!), 'another secret does not verify');
  t.equal(third!.json.type, 'booking.created');
  t.match(third!.json.data, { id: bookingId, orgId, status: 'scheduled', version: 1 });

  await ctx.catchUpAll();
  const token = await ctx.token(orgId, ['READ_BOOKINGS']);
  const api = await app.inject({
    method: 'GET',
    url: `/api/private/v1/bookings/${bookingId}`,
    headers: { authorization: `Bearer ${token.token}` },
  });
  t.same(Object.keys(third!.json.data).sort(), Object.keys(api.json()).sort(), 'data has the shape the API returns');

  await eventually('delivered', async () => {
    const row = await services.db
      .selectFrom('webhook_deliveries')
      .select('status')
      .where('endpoint_id', '=', endpoint.id)
      .executeTakeFirst();
    return row?.status === 'delivered';
  });
  const log = await app.inject({
    method: 'GET',
    url: `/api/internal/v1/webhook-endpoints/${endpoint.id}/deliveries`,
    headers: { authorization: `Bearer ${endpoint.admin}` },
  });
  const [delivery] = log.json().data;
  t.equal(delivery.id, first!.headers['webhook-id']);
  t.same(
    delivery.attempts.map((a: { status: number }) => a.status),
    [500, 500, 200],
    'each attempt in the delivery log',
  );
  t.ok(delivery.attempts.every((a: { durationMs: number }) => a.durationMs >= 0));
  t.equal(delivery.attempts[0].responseBody, 'answered 500');
  const list = await app.inject({
    method: 'GET',
    url: '/api/internal/v1/webhook-endpoints',
    headers: { authorization: `Bearer ${endpoint.admin}` },
  });
  t.match(list.json().data[0], { id: endpoint.id, status: 'active', health: { lastStatus: 200, failuresInARow: 0, nextRetryAt: null } });
});

t.test('leads: lead.created and lead.status_changed carry the lead as the internal API returns it', async (t) => {
  const orgId = await ctx.createOrg({ phones: ['+15125550100'] });
  const receiver = await webhookReceiver(t);
  const endpoint = await register(orgId, receiver.url, ['lead.created', 'lead.status_changed']);
  const provider = { orgId, actor: { type: 'provider' as const, id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
  const { lead } = await recordMissedCall(services, provider, {
    callSid: `CA${randomUUID().replaceAll('-', '')}`,
    from: '+15125550177',
    to: '+15125550100',
    callStatus: 'no-answer',
    calledAt: new Date().toISOString(),
  });
  const changed = await changeLeadStatus(services, integration(orgId), lead.id, { to: 'lost', reason: 'went elsewhere' });
  await eventually('both delivered', () => receiver.received.length === 2);
  t.same(
    receiver.received.map((r) => r.json.type),
    ['lead.created', 'lead.status_changed'],
  );
  t.match(receiver.received[0]!.json.data, { id: lead.id, orgId, status: 'active', callerPhone: '+15125550177' });
  t.match(receiver.received[1]!.json.data, { id: lead.id, status: 'lost' });
  for (const r of receiver.received) t.ok(verify(endpoint.secret, r));
  // The lead as `POST /leads/:id/status` answers it (toLeadView).
  const admin = await ctx.memberToken(orgId, 'admin');
  await ctx.catchUpAll();
  const api = await app.inject({
    method: 'POST',
    url: `/api/internal/v1/leads/${lead.id}/status`,
    headers: { authorization: `Bearer ${admin.token}` },
    payload: { status: 'lost' },
  });
  t.equal(api.statusCode, 200, api.body);
  t.same(
    Object.keys(receiver.received[1]!.json.data).sort(),
    [...Object.keys(api.json()), 'consent'].sort(),
    'the shape the internal API returns, with the consent GET /leads/:id carries',
  );
  t.same(receiver.received[1]!.json.data.consent, { status: 'unknown', since: null, source: null });
  t.equal(receiver.received[1]!.json.data.version, changed.lead.version);
});

t.test(
  'lead.opted_out: a texted STOP and a member-recorded opt-out arrive as the lead with its consent, after its earlier events',
  async (t) => {
    const business = '+15125550102';
    const orgId = await ctx.createOrg({ phones: [business] });
    const other = await ctx.createOrg();
    const texter = '+15125550181';
    // The texter's lead.created fails once: the opt-out of that lead waits until it is delivered.
    let failed = false;
    const receiver = await webhookReceiver(t, (_n, r) => {
      if (failed || r.json.type !== 'lead.created' || r.json.data.callerPhone !== texter) return 200;
      failed = true;
      return 500;
    });
    const elsewhere = await webhookReceiver(t);
    const endpoint = await register(orgId, receiver.url, ['lead.created', 'lead.status_changed', 'lead.opted_out']);
    await register(other, elsewhere.url, ['lead.created', 'lead.opted_out']);
    const member = await ctx.memberToken(orgId, 'member');
    const bearer = { authorization: `Bearer ${member.token}` };
    const text = (from: string, body: string) =>
      postTwilio(app, '/webhooks/twilio/sms', inboundSms({ messageSid: sid('SM'), from, to: business, body }));

    // 1. A STOP from a new number: the text opens the lead, then the opt-out lands on the consent stream.
    t.equal((await text(texter, 'STOP')).statusCode, 200);
    // 2. A missed call, then a member records the opt-out the caller asked for on the phone.
    const provider = { orgId, actor: { type: 'provider' as const, id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
    const { lead: called } = await recordMissedCall(services, provider, {
      callSid: `CA${randomUUID().replaceAll('-', '')}`,
      from: '+15125550182',
      to: business,
      callStatus: 'no-answer',
      calledAt: new Date().toISOString(),
    });
    await ctx.catchUpAll();
    const recorded = await app.inject({
      method: 'POST',
      url: `/api/internal/v1/leads/${called.id}/consent`,
      headers: bearer,
      payload: { status: 'opted_out', note: 'asked on the phone' },
    });
    t.equal(recorded.statusCode, 200, recorded.body);
    // 3. START opts the texter in again (no webhook type for it), then their lead is won.
    t.equal((await text(texter, 'START')).statusCode, 200);
    await ctx.catchUpAll();
    const leads = (await app.inject({ method: 'GET', url: '/api/internal/v1/leads', headers: bearer })).json().data as {
      id: string;
      callerPhone: string;
    }[];
    const texted = leads.find((l) => l.callerPhone === texter)!;
    await changeLeadStatus(services, integration(orgId), texted.id, { to: 'won' });

    await eventually('five delivered (one retried)', () => receiver.received.length === 6);
    for (const r of receiver.received) t.ok(verify(endpoint.secret, r), 'verified by standardwebhooks');
    const of = (leadId: string) => [
      ...new Map(receiver.received.filter((r) => r.json.data.id === leadId).map((r) => [r.headers['webhook-id'], r.json])).values(),
    ];
    const texterMessages = of(texted.id);
    t.same(
      texterMessages.map((m) => m.type),
      ['lead.created', 'lead.opted_out', 'lead.status_changed'],
      "the texter's lead: created, opted out, then won; no webhook for the opt-in",
    );
    t.match(texterMessages[0]!.data, { callerPhone: texter, consent: { status: 'unknown', since: null, source: null } });
    t.match(texterMessages[1]!.data, {
      id: texted.id,
      orgId,
      status: 'active',
      callerPhone: texter,
      consent: { status: 'opted_out', source: 'keyword' },
    });
    t.equal(texterMessages[1]!.timestamp, (texterMessages[1]!.data.consent as { since: string }).since, 'timestamp: when they opted out');
    t.match(texterMessages[2]!.data, { status: 'won', consent: { status: 'opted_in', source: 'keyword' } });
    const texterAttempts = receiver.received.filter((r) => r.json.data.id === texted.id).map((r) => r.json.type);
    t.same(texterAttempts, ['lead.created', 'lead.created', 'lead.opted_out', 'lead.status_changed'], 'the failed one was retried first');

    const calledMessages = of(called.id);
    t.same(
      calledMessages.map((m) => m.type),
      ['lead.created', 'lead.opted_out'],
    );
    const detail = (await app.inject({ method: 'GET', url: `/api/internal/v1/leads/${called.id}`, headers: bearer })).json();
    t.same(calledMessages[1]!.data.consent, detail.consent, 'consent as GET /leads/:id shows it');
    t.match(detail.consent, { status: 'opted_out', source: 'member' });
    const statusShape = await app.inject({
      method: 'POST',
      url: `/api/internal/v1/leads/${called.id}/status`,
      headers: bearer,
      payload: { status: 'lost' },
    });
    t.equal(statusShape.statusCode, 200, statusShape.body);
    const apiKeys = Object.keys(statusShape.json()).filter((k) => k !== 'lostAt'); // set once it is lost
    t.same(Object.keys(calledMessages[1]!.data).sort(), [...apiKeys, 'consent'].sort(), 'the lead resource as the API returns it');

    const rows = await services.db
      .selectFrom('webhook_deliveries')
      .select(['event_type', 'resource'])
      .where('endpoint_id', '=', endpoint.id)
      .where('event_type', '=', 'lead.opted_out')
      .orderBy('seq')
      .execute();
    t.same(
      rows.map((r) => r.resource),
      [`lead-${texted.id}`, `lead-${called.id}`],
      'an opt-out is ordered with the events of the lead it is about',
    );
    await new Promise((r) => setTimeout(r, 300));
    t.equal(elsewhere.received.length, 0, "another org's endpoint gets none of it");
  },
);

t.test('an opt-out of a number with no lead (a booking customer the carrier reports unsubscribed) sends no lead.opted_out', async (t) => {
  const orgId = await ctx.createOrg();
  const receiver = await webhookReceiver(t);
  const endpoint = await register(orgId, receiver.url, ['lead.opted_out', 'booking.created']);
  const outcome = await changeConsent(
    services,
    { orgId, actor: { type: 'system', id: 'automation', label: 'Automation' }, correlationId: randomUUID() },
    { type: 'OptOut', data: { phone: '+15125550183', source: 'carrier', evidence: { by: 'job', errorCode: '21610' } } },
    `carrier\n${randomUUID()}`,
  );
  t.ok(outcome.changed);
  const bookingId = await book(orgId);
  await eventually('the later booking delivered', () => receiver.received.length === 1);
  t.match(receiver.received[0]!.json, { type: 'booking.created', data: { id: bookingId } });
  const rows = await services.db.selectFrom('webhook_deliveries').select('event_type').where('endpoint_id', '=', endpoint.id).execute();
  t.same(
    rows.map((r) => r.event_type),
    ['booking.created'],
  );
});

t.test('after the last retry a delivery is failed, and the next one of the resource goes out', async (t) => {
  const orgId = await ctx.createOrg();
  const receiver = await webhookReceiver(t, (_n, r) => (r.json.type === 'booking.created' ? 503 : 200));
  const endpoint = await register(orgId, receiver.url, ['booking.created', 'booking.canceled']);
  const bookingId = await book(orgId);
  await changeBooking(services, integration(orgId), bookingId, { kind: 'cancel' });
  await eventually('the cancel delivered', () => receiver.received.some((r) => r.json.type === 'booking.canceled'));
  const types = receiver.received.map((r) => r.json.type);
  t.same(
    types,
    ['booking.created', 'booking.created', 'booking.created', 'booking.created', 'booking.canceled'],
    '1 attempt + 3 retries, then the next',
  );
  // The receiver answers before the worker records the attempt: wait for the record, not only the request.
  await eventually('the cancel recorded as delivered', async () => {
    const row = await services.db
      .selectFrom('webhook_deliveries')
      .select('status')
      .where('endpoint_id', '=', endpoint.id)
      .where('event_type', '=', 'booking.canceled')
      .executeTakeFirst();
    return row?.status === 'delivered';
  });
  const rows = await services.db
    .selectFrom('webhook_deliveries')
    .select(['event_type', 'status', 'attempts'])
    .where('endpoint_id', '=', endpoint.id)
    .orderBy('seq')
    .execute();
  t.same(rows, [
    { event_type: 'booking.created', status: 'failed', attempts: 4 },
    { event_type: 'booking.canceled', status: 'delivered', attempts: 1 },
  ]);

  const replay = await app.inject({
    method: 'POST',
    url: `/api/internal/v1/webhook-endpoints/${endpoint.id}/replay`,
    headers: { authorization: `Bearer ${endpoint.admin}` },
    payload: { since: '2000-01-01T00:00:00.000Z' },
  });
  t.equal(replay.statusCode, 202);
  t.same(replay.json(), { replayed: 2 });
  await eventually('the replay re-sent both', () => receiver.received.filter((r) => r.json.type === 'booking.canceled').length === 2);
  const ids = receiver.received.filter((r) => r.json.type === 'booking.canceled').map((r) => r.headers['webhook-id']);
  t.equal(ids[0], ids[1], 'a replay keeps the webhook-id');

  const fromOne = await app.inject({
    method: 'POST',
    url: `/api/internal/v1/webhook-endpoints/${endpoint.id}/replay`,
    headers: { authorization: `Bearer ${endpoint.admin}` },
    payload: { deliveryId: ids[0] },
  });
  t.same(fromOne.json(), { replayed: 1 }, 'from a delivery: that one and the later ones (none here)');
  await eventually('re-sent from the delivery', () => receiver.received.filter((r) => r.json.type === 'booking.canceled').length === 3);
  const unknown = await app.inject({
    method: 'POST',
    url: `/api/internal/v1/webhook-endpoints/${endpoint.id}/replay`,
    headers: { authorization: `Bearer ${endpoint.admin}` },
    payload: { deliveryId: 'msg_nope' },
  });
  t.equal(unknown.statusCode, 404);
});

t.test('order per booking: concurrent reschedules arrive in the order of the log, a retried one first', async (t) => {
  const orgId = await ctx.createOrg();
  const receiver = await webhookReceiver(t, (n) => (n === 0 ? 500 : 200));
  await register(orgId, receiver.url, ['booking.rescheduled']);
  const bookingId = await book(orgId);
  // Four writers at once: each retry round lets one win, so the last needs 3 retries, inside execute()'s 5.
  const moves = 4;
  await Promise.all(
    Array.from({ length: moves }, () =>
      changeBooking(services, integration(orgId), bookingId, { kind: 'reschedule', window: nextWindow() }),
    ),
  );
  await eventually(
    'every reschedule delivered',
    () => new Set(receiver.received.map((r) => r.headers['webhook-id'])).size === moves && receiver.received.length === moves + 1,
  );
  const versions = receiver.received.map((r) => r.json.data.version as number);
  t.same(
    versions,
    [...versions].sort((a, b) => a - b),
    `versions arrive in order (${versions.join(', ')})`,
  );
  t.equal(versions[0], versions[1], 'the failed first one is retried before the next is sent');
});

t.test("tenancy: over mixed orgs, an endpoint never receives another org's event", async (t) => {
  const orgs = [await ctx.createOrg(), await ctx.createOrg(), await ctx.createOrg()];
  const receivers = await Promise.all(orgs.map(() => webhookReceiver(t)));
  for (const [i, orgId] of orgs.entries()) await register(orgId, receivers[i]!.url, ['booking.created', 'booking.canceled']);
  const made = orgs.map(() => 0);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ org: fc.nat(2), cancel: fc.boolean() }), { minLength: 1, maxLength: 5 }), async (writes) => {
      await Promise.all(
        writes.map(async ({ org, cancel }) => {
          const bookingId = await book(orgs[org]!);
          made[org]! += 1;
          if (cancel) {
            await changeBooking(services, integration(orgs[org]!), bookingId, { kind: 'cancel' });
            made[org]! += 1;
          }
        }),
      );
      await eventually('every delivery', () => receivers.every((r, i) => r.received.length === made[i]));
      return receivers.every((r, i) => r.received.every((x) => x.json.data.orgId === orgs[i]));
    }),
    { numRuns: 4 },
  );
  t.same(
    receivers.map((r) => r.received.length),
    made,
    "each endpoint got exactly its own org's events",
  );
});

t.test('endpoints created after an event do not get it; a removed endpoint gets nothing more', async (t) => {
  const orgId = await ctx.createOrg();
  await book(orgId);
  const receiver = await webhookReceiver(t);
  const endpoint = await register(orgId, receiver.url, ['booking.created']);
  const bookingId = await book(orgId);
  await eventually('one delivery', () => receiver.received.length === 1);
  t.equal(receiver.received[0]!.json.data.id, bookingId);
  const removed = await app.inject({
    method: 'DELETE',
    url: `/api/internal/v1/webhook-endpoints/${endpoint.id}`,
    headers: { authorization: `Bearer ${endpoint.admin}` },
  });
  t.equal(removed.statusCode, 204);
  await book(orgId);
  const other = await webhookReceiver(t);
  await register(orgId, other.url, ['booking.created']);
  await book(orgId);
  await eventually('the later endpoint got the later booking', () => other.received.length === 1);
  t.equal(receiver.received.length, 1, 'nothing for the removed endpoint');
});

t.test('a rotated secret: both the old and the new one verify for 24 hours', async (t) => {
  const orgId = await ctx.createOrg();
  const receiver = await webhookReceiver(t);
  const endpoint = await register(orgId, receiver.url, ['booking.created']);
  const rotated = await app.inject({
    method: 'POST',
    url: `/api/internal/v1/webhook-endpoints/${endpoint.id}/rotate-secret`,
    headers: { authorization: `Bearer ${endpoint.admin}` },
  });
  t.equal(rotated.statusCode, 200);
  const { secret } = rotated.json();
  t.match(secret, /^whsec_/);
  t.not(secret, endpoint.secret);
  await book(orgId);
  await eventually('delivered', () => receiver.received.length === 1);
  const r = receiver.received[0]!;
  t.equal(r.headers['webhook-signature']!.split(' ').length, 2, 'two signatures');
  t.ok(verify(secret, r), 'the new secret verifies');
  t.ok(verify(endpoint.secret, r), 'the old secret verifies');
  await sql`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = ${endpoint.id}`.execute(
    services.db,
  );
  await book(orgId);
  await eventually('delivered', () => receiver.received.length === 2);
  t.equal(receiver.received[1]!.headers['webhook-signature']!.split(' ').length, 1, 'after 24 h only the new one signs');
  t.throws(() => verify(endpoint.secret, receiver.received[1]!));
});

t.test('an endpoint failing for 5 days is disabled, with an event', async (t) => {
  const orgId = await ctx.createOrg();
  const receiver = await webhookReceiver(t, () => 500);
  const endpoint = await register(orgId, receiver.url, ['booking.created']);
  await sql`update webhook_endpoints set failing_since = now() - interval '5 days 1 minute', failures_in_a_row = 40 where id = ${endpoint.id}`.execute(
    services.db,
  );
  await book(orgId);
  await eventually('disabled', async () => {
    const row = await services.db.selectFrom('webhook_endpoints').select('status').where('id', '=', endpoint.id).executeTakeFirstOrThrow();
    return row.status === 'disabled';
  });
  const list = await app.inject({
    method: 'GET',
    url: '/api/internal/v1/webhook-endpoints',
    headers: { authorization: `Bearer ${endpoint.admin}` },
  });
  t.match(list.json().data[0], { status: 'disabled', health: { failuresInARow: 41, lastStatus: 500 } });
  const { rows } = await sql<{ event_type: string; actor: string }>`
    select event_type, metadata->'actor'->>'type' as actor from es_events where stream_id = ${`org-${orgId}`} and event_type like 'Webhook%' order by stream_revision`.execute(
    services.db,
  );
  t.same(rows, [
    { event_type: 'WebhookEndpointAdded', actor: 'team_member' },
    { event_type: 'WebhookEndpointDisabled', actor: 'system' },
  ]);
  await book(orgId);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(receiver.received.length, 1, 'nothing more is sent');
});

t.test('at send time a private address is refused when WEBHOOK_ALLOW_PRIVATE is off', async (t) => {
  const orgId = await ctx.createOrg();
  const receiver = await webhookReceiver(t, () => 'hang');
  const endpoint = await register(orgId, receiver.url.replace('127.0.0.1', 'localhost'), ['booking.created']);
  // A delivery row with no job queued for it: only the call below sends it.
  const bookingId = randomUUID();
  await services.db
    .insertInto('webhook_deliveries')
    .values({
      id: `msg_${randomUUID().replaceAll('-', '')}`,
      org_id: orgId,
      endpoint_id: endpoint.id,
      event_id: randomUUID(),
      event_type: 'booking.created',
      resource: `booking-${bookingId}`,
      body: '{}',
      next_attempt_at: new Date(0),
    })
    .execute();
  const requeued: Date[] = [];
  const result = await deliverPending(
    { ...services, config: { WEBHOOK_RETRY_DELAYS: [60], WEBHOOK_ALLOW_PRIVATE: false } },
    { orgId, endpointId: endpoint.id, resource: `booking-${bookingId}` },
    { requeue: async (at) => void requeued.push(at) },
  );
  t.equal(result.outcome, 'retrying');
  t.equal(receiver.received.length, 0, 'the receiver was never contacted');
  const attempt = await services.db
    .selectFrom('webhook_attempts')
    .innerJoin('webhook_deliveries as d', 'd.id', 'webhook_attempts.delivery_id')
    .select(['webhook_attempts.status', 'webhook_attempts.error'])
    .where('d.endpoint_id', '=', endpoint.id)
    .executeTakeFirstOrThrow();
  t.equal(attempt.status, null);
  t.match(attempt.error, /resolves to (127\.0\.0\.1|::1), a loopback, link-local or private address/);
});

t.test('the sender follows no redirect, reads 4 KiB of a body, and cuts a trickling receiver at 10 s', async (t) => {
  const receiver = await webhookReceiver(t, (n) =>
    n === 0 ? { status: 302, body: 'see other' } : n === 1 ? { status: 200, body: 'x'.repeat(10_000) } : 'trickle',
  );
  const post = () => postWebhook(receiver.url, {}, '{}', { allowPrivate: true });
  const redirect = await post();
  t.equal(redirect.status, 302, 'a redirect is an answer, not followed');
  const big = await post();
  t.equal(big.body.length, 4096);
  const trickle = await post();
  t.equal(trickle.status, null);
  t.match(trickle.error, /no complete answer within 10000 ms/);
  t.ok(trickle.durationMs >= 9_900 && trickle.durationMs < 12_000, `cut at ${trickle.durationMs} ms`);
});
