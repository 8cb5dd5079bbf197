import { randomUUID } from 'node:crypto';
import t from 'tap';
import { leadBookingLink } from '../../src/automation/lead-booking-link.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { recordMissedCall } from '../../src/commands/leads.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { automationApp } from '../automation/support.ts';
import { operator } from '../support/app.ts';
import { eventCount, sid } from '../webhooks/fixtures/providers.ts';

/** Bookings for team members: calendar list, detail with evidence, book from a lead, reschedule, cancel, availability. */
const ctx = await automationApp(t);
const { app, services, database } = ctx;
const API = '/api/internal/v1';
const BUSINESS = '+15125550100';
const orgA = await ctx.createOrg({ phones: [BUSINESS] });
const orgB = await ctx.createOrg({ phones: ['+15125550111'] });
const member = await ctx.memberToken(orgA, 'member');
const auditor = await ctx.memberToken(orgA, 'auditor');
const memberB = await ctx.memberToken(orgB, 'member');
type Json = Record<string, any>;
let nextCaller = 5553300;

const call = (
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  token = member.token,
  payload?: object,
  headers: Record<string, string> = {},
) => app.inject({ method, url: `${API}${url}`, headers: { authorization: `Bearer ${token}`, ...headers }, ...(payload && { payload }) });

async function lead(orgId = orgA): Promise<{ leadId: string; phone: string }> {
  const phone = `+1512${nextCaller++}`;
  const { lead } = await recordMissedCall(
    services,
    { orgId, actor: { type: 'provider', id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() },
    {
      callSid: sid('CA'),
      from: phone,
      to: BUSINESS,
      callStatus: 'no-answer',
      calledAt: ctx.clock().toISOString(),
    },
  );
  await ctx.project();
  return { leadId: lead.id, phone };
}

// START is Monday 2031-03-10 10:00 in Chicago.
const visit = { start: '2031-03-12T15:00:00.000Z', end: '2031-03-12T17:00:00.000Z' };

t.test('a member books a visit from a lead (Idempotency-Key): the lead moves to Booked, the calendar lists it with the zone', async (t) => {
  const { leadId, phone } = await lead();
  const body = { customer: { name: 'Dana Diaz', phone }, window: visit, leadId, service: { type: 'repair', summary: 'no heat' } };
  const key = randomUUID();
  const created = await call('POST', '/bookings', member.token, body, { 'idempotency-key': key });
  t.equal(created.statusCode, 201, created.body);
  const booking = created.json() as Json;
  t.match(booking, { status: 'scheduled', leadId, source: { actorType: 'team_member', actorId: member.memberId } });
  t.equal(created.headers.location, `${API}/bookings/${booking.id}`);
  const repeat = await call('POST', '/bookings', member.token, body, { 'idempotency-key': key });
  t.equal(repeat.statusCode, 201);
  t.equal(repeat.headers['idempotent-replayed'], 'true');
  t.equal(repeat.json().id, booking.id);
  t.equal(await eventCount(database, 'BookingCreated'), 1);

  await ctx.project();
  await catchUp(services, leadBookingLink);
  await ctx.project();
  t.equal((await call('GET', `/leads/${leadId}`)).json().status, 'booked', 'the reactor moved the lead');

  const week = await call('GET', '/bookings?from=2031-03-10T05:00:00.000Z&to=2031-03-17T05:00:00.000Z');
  t.equal(week.statusCode, 200);
  t.match(week.json(), { timezone: 'America/Chicago', nextCursor: null });
  t.same(
    week.json().data.map((b: Json) => [b.id, b.customer.name, b.window.start]),
    [[booking.id, 'Dana Diaz', visit.start]],
  );
  t.same(
    (await call('GET', '/bookings?from=2031-03-17T05:00:00.000Z&to=2031-03-24T05:00:00.000Z')).json().data,
    [],
    'the next week is empty',
  );
});

t.test(
  "a booking's detail carries its confirmation and reminder evidence; a reschedule moves the reminders; a cancel ends them",
  async (t) => {
    const { phone } = await lead();
    const created = (await call('POST', '/bookings', member.token, { customer: { name: 'Kim Lee', phone }, window: visit })).json() as Json;
    await ctx.queue();
    await ctx.runDue();
    await ctx.project();
    const detail = await call('GET', `/bookings/${created.id}`);
    t.equal(detail.statusCode, 200);
    t.equal(detail.headers.etag, `"${detail.json().version}"`);
    const body = detail.json() as Json;
    t.match(body, {
      confirmation: { status: 'sent' },
      reminders: [
        { offsetMinutes: 1440, status: 'scheduled' },
        { offsetMinutes: 120, status: 'scheduled' },
      ],
    });
    t.same(
      body.evidence.map((e: Json) => e.type),
      ['BookingCreated', 'ConfirmationSent'],
    );
    t.match(body.evidence[1], { actor: { type: 'system', id: 'automation' }, summary: /confirmation sent to/, occurredAt: String });

    const moved = { start: '2031-03-13T15:00:00.000Z', end: '2031-03-13T17:00:00.000Z' };
    const stale = await call('PATCH', `/bookings/${created.id}`, member.token, { window: moved }, { 'if-match': '"1"' });
    t.equal(stale.statusCode, 412, 'If-Match guards a stale calendar');
    const res = await call(
      'PATCH',
      `/bookings/${created.id}`,
      member.token,
      { window: moved, reason: 'customer asked' },
      { 'if-match': body.version.toString() },
    );
    t.equal(res.statusCode, 200, res.body);
    t.same(
      res.json().reminders.map((r: Json) => r.dueAt),
      ['2031-03-12T15:00:00.000Z', '2031-03-13T13:00:00.000Z'],
      'reminders move with the visit',
    );
    await ctx.queue();
    const reminderJobs = (await ctx.jobs({ task: 'booking-reminder' })).filter((j) => (j.payload as Json).bookingId === created.id);
    t.same(
      reminderJobs.map((j) => j.runAt.toISOString()).sort(),
      ['2031-03-12T15:00:00.000Z', '2031-03-13T13:00:00.000Z'],
      'and so do their jobs',
    );

    const canceled = await call('PATCH', `/bookings/${created.id}`, member.token, { status: 'canceled', reason: 'no longer needed' });
    t.equal(canceled.statusCode, 200);
    t.match(canceled.json(), { status: 'canceled', cancelReason: 'no longer needed' });
    await ctx.queue();
    t.same(
      (await ctx.jobs({ task: 'booking-reminder' })).filter((j) => (j.payload as Json).bookingId === created.id),
      [],
      'no reminder left',
    );
    await ctx.project();
    t.same(
      (await call('GET', `/bookings/${created.id}`)).json().evidence.map((e: Json) => e.type),
      ['BookingCreated', 'ConfirmationSent', 'BookingRescheduled', 'BookingCanceled'],
    );
  },
);

t.test('availability windows for members only when the org enabled the action', async (t) => {
  const url = '/availability?from=2031-03-11T05:00:00.000Z&to=2031-03-12T05:00:00.000Z&duration=120';
  const off = await call('GET', url);
  t.equal(off.statusCode, 404);
  t.equal(off.json().code, 'action_not_enabled');
  await configureOrg(services, operator(orgA), { orgId: orgA, changes: { enabledActions: ['availability'] } });
  await ctx.project();
  const on = await call('GET', url);
  t.equal(on.statusCode, 200);
  t.match(on.json(), { timezone: 'America/Chicago', durationMinutes: 120 });
  t.ok(on.json().windows.length > 0);
  t.equal((await call('GET', url, auditor.token)).statusCode, 403, 'an auditor still cannot');
  t.equal((await call('GET', '/availability?from=2031-03-12T05:00:00.000Z&to=2031-03-11T05:00:00.000Z')).statusCode, 400);
});

t.test('bookings: another org is 404, an auditor 403, bad input 400, and nothing is recorded', async (t) => {
  const { leadId, phone } = await lead();
  const created = (await call('POST', '/bookings', member.token, { customer: { name: 'Lee Park', phone }, window: visit })).json() as Json;
  await ctx.project();
  const before = await eventCount(database);
  const strip = (b: Json) => ({ ...b, requestId: undefined });
  const foreign = await call('GET', `/bookings/${created.id}`, memberB.token);
  t.equal(foreign.statusCode, 404);
  t.same(strip(foreign.json()), strip((await call('GET', `/bookings/${randomUUID()}`, memberB.token)).json()));
  t.equal((await call('PATCH', `/bookings/${created.id}`, memberB.token, { status: 'canceled' })).statusCode, 404);
  const foreignLead = await call('POST', '/bookings', memberB.token, { customer: { name: 'X', phone }, window: visit, leadId });
  t.equal(foreignLead.statusCode, 404, "booking from another org's lead");
  t.notOk(
    (await call('GET', '/bookings?from=2031-03-10T05:00:00.000Z&to=2031-03-17T05:00:00.000Z', memberB.token))
      .json()
      .data.some((b: Json) => b.id === created.id),
  );
  for (const [method, url, payload] of [
    ['GET', '/bookings?from=2031-03-10T05:00:00.000Z&to=2031-03-17T05:00:00.000Z', undefined],
    ['GET', `/bookings/${created.id}`, undefined],
    ['POST', '/bookings', { customer: { name: 'Y', phone }, window: visit }],
    ['PATCH', `/bookings/${created.id}`, { status: 'canceled' }],
  ] as const) {
    const res = await call(method, url, auditor.token, payload);
    t.equal(res.statusCode, 403, `${method} ${url} as auditor`);
  }
  for (const [payload, path] of [
    [{ customer: { name: 'Y', phone }, window: { start: visit.end, end: visit.start } }, 'body'],
    [{ customer: { name: 'Y', phone: '555' }, window: visit }, 'body.customer.phone'],
    [{ customer: { name: 'Y', phone }, window: visit, leadId: 'nope' }, 'body.leadId'],
  ] as const) {
    const res = await call('POST', '/bookings', member.token, payload);
    t.equal(res.statusCode, 400, JSON.stringify(payload));
    t.ok(
      (res.json().errors as Json[]).some((e) => e.path.startsWith(path)),
      `${path}: ${JSON.stringify(res.json().errors)}`,
    );
  }
  t.equal((await call('GET', '/bookings?from=2031-03-17T05:00:00.000Z&to=2031-03-10T05:00:00.000Z')).statusCode, 400);
  t.equal(await eventCount(database), before);
});
