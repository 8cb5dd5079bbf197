import { randomUUID } from 'node:crypto';
import t from 'tap';
import { LEAD_BOOKING_LINK, leadBookingLink } from '../../src/automation/lead-booking-link.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { changeLeadStatus, leadsOfCaller, loadLead, receiveInboundText, recordMissedCall } from '../../src/commands/leads.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import { leadIdFor } from '../../src/domain/ids.ts';
import { getLeadDetail } from '../../src/queries/leads.ts';
import { testApp } from '../support/app.ts';
import { eventCount, settle, sid } from '../webhooks/fixtures/providers.ts';

const ctx = await testApp(t);
const { services, database } = ctx;
const BUSINESS = '+15125550100';
const orgA = await ctx.createOrg({ phones: [BUSINESS] });
const orgB = await ctx.createOrg({ phones: ['+15125550111'] });
await settle(ctx);

let nextCaller = 5550400;
const newCaller = () => `+1512${nextCaller++}`;
const twilioCaller = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'provider', id: 'twilio', label: 'Twilio' },
  correlationId: randomUUID(),
});
const dispatch = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'integration', id: randomUUID(), label: 'Dispatch board' },
  correlationId: randomUUID(),
});
/** Runs the reactor over every committed booking (once all are visible). */
async function link(): Promise<number> {
  await settle(ctx);
  return catchUp(services, leadBookingLink);
}

const window = { start: '2030-06-02T15:00:00.000Z', end: '2030-06-02T17:00:00.000Z' };

async function missedCall(orgId: string, caller: string) {
  const { lead } = await recordMissedCall(services, twilioCaller(orgId), {
    callSid: sid('CA'),
    from: caller,
    to: BUSINESS,
    callStatus: 'no-answer',
    calledAt: new Date().toISOString(),
  });
  return lead.id;
}

async function book(orgId: string, phone: string, leadId?: string) {
  const { booking } = await createBooking(services, dispatch(orgId), {
    customer: { name: 'Dana Diaz', phone },
    window,
    ...(leadId && { leadId }),
  });
  return booking.id;
}

t.test('a booking created with a leadId moves the lead to Booked and lands on its timeline', async (t) => {
  const leadId = await missedCall(orgA, newCaller());
  const bookingId = await book(orgA, '+15125559876', leadId);
  t.ok((await link()) >= 1);
  await settle(ctx);
  const lead = await getLeadDetail(services.db, orgA, leadId);
  t.equal(lead?.status, 'booked');
  t.ok(lead?.bookedAt);
  t.same(lead?.bookingIds, [bookingId]);
  t.same(
    lead?.timeline.map((e) => e.kind),
    ['missed_call', 'booking', 'status_change'],
  );
  t.match(lead?.timeline[1], { actor: { type: 'system', id: 'lead-booking-link' } });
});

t.test('a booking whose customer phone matches an open lead moves that lead to Booked', async (t) => {
  const caller = newCaller();
  const leadId = await missedCall(orgA, caller);
  await book(orgA, caller);
  await link();
  t.equal((await loadLead(services, orgA, leadId)).status, 'booked');
});

t.test('a booking matching no open lead changes no lead', async (t) => {
  const caller = newCaller();
  const leadId = await missedCall(orgA, caller);
  await changeLeadStatus(services, dispatch(orgA), leadId, { to: 'lost' });
  const before = await eventCount(database);
  await book(orgA, caller);
  await book(orgA, newCaller());
  await link();
  t.equal(await eventCount(database), before + 2, 'only the two bookings');
  t.equal((await loadLead(services, orgA, leadId)).status, 'lost');
});

t.test("a leadId of another org is not linked; the booking's own org is searched by phone instead", async (t) => {
  const caller = newCaller();
  const foreignLead = await missedCall(orgB, caller);
  const ownLead = await missedCall(orgA, caller);
  await book(orgA, caller, foreignLead);
  await link();
  t.equal((await loadLead(services, orgB, foreignLead)).status, 'active', "org B's lead is untouched");
  t.equal((await loadLead(services, orgA, ownLead)).status, 'booked');
});

t.test('handling the same bookings again (a crash before the checkpoint) records nothing', async (t) => {
  const leadId = await missedCall(orgA, newCaller());
  await book(orgA, '+15125559877', leadId);
  await link();
  const before = await eventCount(database);
  await database.pool.query('delete from projection_checkpoints where name = $1', [LEAD_BOOKING_LINK]);
  await link();
  t.equal(await eventCount(database), before, 'replaying every BookingCreated appended nothing');
  t.equal((await loadLead(services, orgA, leadId)).counts.bookings, 1);
});

t.test('texts and calls of one caller arriving together share one lead', async (t) => {
  const caller = newCaller();
  await Promise.all([
    ...Array.from({ length: 5 }, () => missedCall(orgA, caller)),
    ...Array.from({ length: 5 }, () =>
      receiveInboundText(services, twilioCaller(orgA), {
        messageSid: sid('SM'),
        from: caller,
        to: BUSINESS,
        body: 'call me',
        receivedAt: new Date().toISOString(),
      }),
    ),
  ]);
  const lead = await loadLead(services, orgA, leadIdFor(orgA, caller, 0));
  t.same(lead.counts, { missedCalls: 5, inboundTexts: 5, outboundTexts: 0, bookings: 0 });
  t.equal((await leadsOfCaller(services, orgA, caller)).length, 1, 'one lead for the caller');
});
