import { randomUUID } from 'node:crypto';
import t from 'tap';
import { leadBookingLink } from '../../src/automation/lead-booking-link.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { receiveInboundText, recordMissedCall, recordOutboundText } from '../../src/commands/leads.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import { operator, testApp, testClock } from '../support/app.ts';
import { eventCount, settle, sid } from '../webhooks/fixtures/providers.ts';

const clock = testClock('2026-12-01T15:00:00.000Z');
const ctx = await testApp(t, { clock });
const { app, services, database } = ctx;
const API = '/api/internal/v1';
const BUSINESS = '+15125550100';
const orgA = await ctx.createOrg({ phones: [BUSINESS] });
const orgB = await ctx.createOrg({ phones: ['+15125550111'] });
const member = await ctx.memberToken(orgA, 'member');
const other = await ctx.memberToken(orgA, 'admin');
const auditor = await ctx.memberToken(orgA, 'auditor');
const memberB = await ctx.memberToken(orgB, 'member');

type Json = Record<string, any>;
let nextCaller = 5551300;
const newCaller = () => `+1512${nextCaller++}`;
const twilio = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'provider', id: 'twilio', label: 'Twilio' },
  correlationId: randomUUID(),
});
const dispatcher = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'team_member', id: randomUUID(), label: 'Dispatcher' },
  correlationId: randomUUID(),
});
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function get(url: string, token = member.token): Promise<Json> {
  await settle(ctx);
  const res = await app.inject({ method: 'GET', url, headers: bearer(token) });
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res.json() as Json;
}

async function missedCall(caller: string, orgId = orgA, to = BUSINESS) {
  const { lead } = await recordMissedCall(services, twilio(orgId), {
    callSid: sid('CA'),
    from: caller,
    to,
    callStatus: 'no-answer',
    calledAt: clock().toISOString(),
  });
  return lead.id;
}

t.test(
  "waitingSince is the caller's unanswered last contact: a text-back does not answer, a member's text does, closing clears it",
  async (t) => {
    const caller = newCaller();
    clock.set('2026-12-01T15:00:00.000Z');
    const leadId = await missedCall(caller);
    clock.set('2026-12-01T15:00:05.000Z');
    await recordOutboundText(services, twilio(orgA), {
      leadId,
      messageId: sid('SM'),
      to: caller,
      body: 'Sorry we missed you',
      kind: 'text_back',
      sentAt: clock().toISOString(),
    });
    let lead = await get(`${API}/leads/${leadId}`);
    t.equal(lead.waitingSince, '2026-12-01T15:00:00.000Z', 'the automatic text-back is not an answer');
    clock.set('2026-12-01T15:10:00.000Z');
    await receiveInboundText(services, twilio(orgA), {
      messageSid: sid('SM'),
      from: caller,
      to: BUSINESS,
      body: 'My furnace is out',
      receivedAt: clock().toISOString(),
    });
    lead = await get(`${API}/leads/${leadId}`);
    t.equal(lead.waitingSince, '2026-12-01T15:10:00.000Z', 'their latest contact');
    t.equal(lead.lastActivityAt, '2026-12-01T15:10:00.000Z');
    clock.set('2026-12-01T15:20:00.000Z');
    await recordOutboundText(
      services,
      { ...operator(orgA), actor: { type: 'team_member', id: member.memberId, label: 'm' } },
      {
        leadId,
        messageId: sid('SM'),
        to: caller,
        body: 'We can come at 3',
        kind: 'manual',
        sentAt: clock().toISOString(),
      },
    );
    lead = await get(`${API}/leads/${leadId}`);
    t.equal(lead.waitingSince, null, 'we spoke last');
    clock.set('2026-12-01T15:30:00.000Z');
    await missedCall(caller);
    t.equal((await get(`${API}/leads/${leadId}`)).waitingSince, '2026-12-01T15:30:00.000Z');
    const won = await app.inject({
      method: 'POST',
      url: `${API}/leads/${leadId}/status`,
      headers: bearer(member.token),
      payload: { status: 'won' },
    });
    t.equal(won.statusCode, 200);
    t.equal((await get(`${API}/leads/${leadId}`)).waitingSince, null, 'a closed lead waits on nobody');
  },
);

t.test(
  'the list searches by phone digits or customer name, filters by status (all), and orders newest or longest-waiting first',
  async (t) => {
    const org = await ctx.createOrg({ phones: ['+15125550122'] });
    const m = await ctx.memberToken(org, 'member');
    const callers = [newCaller(), newCaller(), newCaller()];
    const ids: string[] = [];
    for (const [i, caller] of callers.entries()) {
      clock.set(`2026-12-02T1${i}:00:00.000Z`);
      ids.push(await missedCall(caller, org, '+15125550122'));
    }
    // The oldest caller calls again later: latest activity, but waiting since that last call.
    clock.set('2026-12-02T13:00:00.000Z');
    await missedCall(callers[0]!, org, '+15125550122');
    // The middle caller gets an answer: not waiting.
    await recordOutboundText(services, operator(org), {
      leadId: ids[1]!,
      messageId: sid('SM'),
      to: callers[1]!,
      body: 'hi',
      kind: 'manual',
      sentAt: clock().toISOString(),
    });
    await createBooking(services, dispatcher(org), {
      customer: { name: 'Ramona Ortiz', phone: callers[2]! },
      window: { start: '2030-01-02T15:00:00.000Z', end: '2030-01-02T17:00:00.000Z' },
      leadId: ids[2]!,
    });
    await settle(ctx);
    await catchUp(services, leadBookingLink);

    const newest = await get(`${API}/leads?status=all`, m.token);
    t.same(newest.data.map((l: Json) => l.id).sort(), [...ids].sort(), 'lists all three');
    const times = newest.data.map((l: Json) => l.lastActivityAt);
    t.same(times, [...times].sort().reverse(), 'newest activity first');

    const waiting = await get(`${API}/leads?order=waiting`, m.token);
    t.equal(waiting.data.length, 3);
    t.same(
      waiting.data.map((l: Json) => [l.id, l.waitingSince]),
      [[ids[0], '2026-12-02T13:00:00.000Z'], ...waiting.data.slice(1).map((l: Json) => [l.id, null])],
      'the waiting lead first, then the answered and booked ones',
    );
    const page1 = await get(`${API}/leads?order=waiting&limit=1`, m.token);
    const page2 = await get(`${API}/leads?order=waiting&limit=1&cursor=${page1.nextCursor}`, m.token);
    const page3 = await get(`${API}/leads?order=waiting&limit=1&cursor=${page2.nextCursor}`, m.token);
    t.same(
      [...page1.data, ...page2.data, ...page3.data].map((l: Json) => l.id),
      waiting.data.map((l: Json) => l.id),
      'pages in waiting order concatenate',
    );
    t.equal(page3.nextCursor, null);

    const byDigits = await get(`${API}/leads?q=${encodeURIComponent(`(512) ${callers[1]!.slice(5, 8)}-${callers[1]!.slice(8)}`)}`, m.token);
    t.same(
      byDigits.data.map((l: Json) => l.id),
      [ids[1]],
      'phone typed with punctuation matches on digits',
    );
    const byName = await get(`${API}/leads?q=ramona`, m.token);
    t.same(
      byName.data.map((l: Json) => [l.id, l.callerName, l.status]),
      [[ids[2], 'Ramona Ortiz', 'booked']],
      'name from the linked booking, any case',
    );
    t.same((await get(`${API}/leads?q=nobody`, m.token)).data, []);
    t.same((await get(`${API}/leads?q=100%25`, m.token)).data, [], 'a % is literal');
    t.same(
      (await get(`${API}/leads?status=booked`, m.token)).data.map((l: Json) => l.id),
      [ids[2]],
    );
    t.same((await get(`${API}/leads?status=active,won`, m.token)).data.length, 2);
  },
);

t.test('unread is per member: a read marker clears it for that member only; a new contact makes it unread again', async (t) => {
  const caller = newCaller();
  const leadId = await missedCall(caller);
  const row = async (token: string) => (await get(`${API}/leads?q=${caller.slice(2)}`, token)).data[0] as Json;
  t.equal((await row(member.token)).unread, true);
  const before = await eventCount(database);
  const read = await app.inject({ method: 'POST', url: `${API}/leads/${leadId}/read`, headers: bearer(member.token) });
  t.equal(read.statusCode, 204);
  t.equal(await eventCount(database), before, 'a read marker is not an event');
  t.equal((await row(member.token)).unread, false);
  t.equal((await get(`${API}/leads/${leadId}`)).unread, false);
  t.equal((await row(other.token)).unread, true, 'another member has not read it');
  clock.advance(60_000);
  await receiveInboundText(services, twilio(orgA), {
    messageSid: sid('SM'),
    from: caller,
    to: BUSINESS,
    body: 'hello?',
    receivedAt: clock().toISOString(),
  });
  t.equal((await row(member.token)).unread, true, 'their new text is unread');
});

t.test("a lead's detail has its timeline, open bookings and summary with the next action", async (t) => {
  const caller = newCaller();
  const leadId = await missedCall(caller);
  let lead = await get(`${API}/leads/${leadId}`);
  t.match(lead, {
    id: leadId,
    callerPhone: caller,
    status: 'active',
    openBookings: [],
    callerName: null,
    summary: { leadId, nextAction: { code: 'call_back' } },
  });
  t.same(
    lead.timeline.map((e: Json) => e.kind),
    ['missed_call'],
  );
  const { booking } = await createBooking(services, dispatcher(orgA), {
    customer: { name: 'Kim Lee', phone: caller },
    window: { start: '2030-01-03T15:00:00.000Z', end: '2030-01-03T17:00:00.000Z' },
    leadId,
  });
  await settle(ctx);
  await catchUp(services, leadBookingLink);
  lead = await get(`${API}/leads/${leadId}`);
  t.match(lead, { status: 'booked', callerName: 'Kim Lee', summary: { nextAction: { code: 'confirm_visit' } } });
  t.same(
    lead.openBookings.map((b: Json) => b.id),
    [booking.id],
  );
  t.same(
    lead.timeline.map((e: Json) => e.kind),
    ['missed_call', 'booking', 'status_change'],
  );
  t.match(lead.timeline[2], { actor: { type: 'system' }, details: { from: 'active', to: 'booked' } });
});

t.test('tenancy, roles and bad input on the inbox routes', async (t) => {
  const leadId = await missedCall(newCaller());
  await settle(ctx);
  const strip = (b: Json) => ({ ...b, requestId: undefined });
  for (const [method, url] of [
    ['GET', `${API}/leads/${leadId}`],
    ['POST', `${API}/leads/${leadId}/read`],
  ] as const) {
    const foreign = await app.inject({ method, url, headers: bearer(memberB.token) });
    const absent = await app.inject({ method, url: url.replace(leadId, randomUUID()), headers: bearer(memberB.token) });
    t.equal(foreign.statusCode, 404, `${method} ${url} other org`);
    t.same(strip(foreign.json()), strip(absent.json()));
    const denied = await app.inject({ method, url, headers: bearer(auditor.token) });
    t.equal(denied.statusCode, 403);
    t.equal(denied.json().code, 'insufficient_role');
  }
  const listB = await get(`${API}/leads?status=all&limit=200`, memberB.token);
  t.notOk(listB.data.some((l: Json) => l.id === leadId));
  for (const [query, path] of [
    ['order=oldest', 'querystring.order'],
    ['status=all,open', 'querystring.status'],
    ['q=', 'querystring.q'],
    [`q=${'x'.repeat(101)}`, 'querystring.q'],
  ] as const) {
    const res = await app.inject({ method: 'GET', url: `${API}/leads?${query}`, headers: bearer(member.token) });
    t.equal(res.statusCode, 400, query);
    t.match(res.json(), { code: 'validation_failed', errors: [{ path }] });
  }
});
