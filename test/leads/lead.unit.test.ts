import t from 'tap';
import type { Envelope } from '../../src/domain/envelope.ts';
import { NotFoundError, StateConflictError } from '../../src/domain/errors.ts';
import type { LeadStatus } from '../../src/domain/events/lead.ts';
import {
  type LeadCommand,
  type LeadEvent,
  type LeadIdentity,
  type LeadState,
  decide,
  evolve,
  foldLead,
  toLeadView,
} from '../../src/domain/lead.ts';
import { specFor } from '../support/gwt.ts';

const now = '2026-12-01T12:00:00.000Z';
const at = (event: LeadEvent, occurredAt = now): Envelope<LeadEvent> => ({ ...event, occurredAt });
const leadId = '7c1d2e3f-4a5b-4c6d-8e7f-901234567890';
const orgId = '9a8b7c6d-5e4f-4321-9876-543210fedcba';
const bookingId = '3f1e2d4c-5b6a-4789-8abc-def012345678';
const caller = '+15125550199';
const business = '+15125550100';
const lead: LeadIdentity = { leadId, orgId, callerPhone: caller, businessPhone: business, generation: 0 };
const callSid = 'CA0123456789abcdef0123456789abcdef';

const spec = specFor<LeadState, LeadCommand, Envelope<LeadEvent>>({
  decide: (command, state) => decide(command, state).map((e) => at(e)),
  evolve,
  initial: null,
});

const opened = (source: 'missed_call' | 'inbound_text' = 'missed_call'): LeadEvent => ({
  type: 'LeadOpened',
  data: { leadId, orgId, callerPhone: caller, businessPhone: business, generation: 0, source },
});
const missed = (sid = callSid, callStatus: 'no-answer' | 'busy' = 'no-answer'): LeadEvent => ({
  type: 'MissedCallRecorded',
  data: { leadId, callSid: sid, from: caller, to: business, callStatus, calledAt: now },
});
const text: LeadEvent = {
  type: 'InboundTextReceived',
  data: { leadId, messageSid: 'SM0123456789abcdef0123456789abcdef', from: caller, to: business, body: 'AC is out', receivedAt: now },
};
const statusChanged = (from: LeadStatus, to: LeadStatus): LeadEvent => ({ type: 'LeadStatusChanged', data: { leadId, from, to } });

const recordMissedCall = (sid = callSid, callStatus: 'no-answer' | 'busy' = 'no-answer'): LeadCommand => ({
  type: 'RecordMissedCall',
  now,
  data: { lead, callSid: sid, from: caller, to: business, callStatus, calledAt: now },
});
const receiveText: LeadCommand = {
  type: 'ReceiveInboundText',
  now,
  data: { lead, messageSid: 'SM0123456789abcdef0123456789abcdef', from: caller, to: business, body: 'AC is out', receivedAt: now },
};
const move = (to: 'active' | 'booked' | 'won' | 'lost', reason?: string): LeadCommand => ({
  type: 'ChangeLeadStatus',
  now,
  data: { leadId, to, ...(reason && { reason }) },
});

t.test('a first missed call opens an active lead and records the call', async (t) => {
  spec(t)
    .given([])
    .when(recordMissedCall())
    .then([at(opened()), at(missed())]);
});

t.test('a second missed call reuses the open lead', async (t) => {
  spec(t)
    .given([at(opened()), at(missed())])
    .when(recordMissedCall('CAffffffffffffffffffffffffffffffff'))
    .then([at(missed('CAffffffffffffffffffffffffffffffff'))]);
});

t.test('the same CallSid and status again is a provider retry: nothing is recorded', async (t) => {
  spec(t)
    .given([at(opened()), at(missed())])
    .when(recordMissedCall())
    .then([]);
});

t.test('the same CallSid with another final status is recorded', async (t) => {
  spec(t)
    .given([at(opened()), at(missed())])
    .when(recordMissedCall(callSid, 'busy'))
    .then([at(missed(callSid, 'busy'))]);
});

t.test('a first inbound text opens a lead from a text', async (t) => {
  spec(t)
    .given([])
    .when(receiveText)
    .then([at(opened('inbound_text')), at(text)]);
});

t.test('an inbound text lands on the open lead once', async (t) => {
  spec(t)
    .given([at(opened()), at(missed())])
    .when(receiveText)
    .then([at(text)]);
  spec(t)
    .given([at(opened()), at(missed()), at(text)])
    .when(receiveText)
    .then([]);
});

t.test('new activity on a closed lead is refused (the caller gets a new lead)', async (t) => {
  spec(t)
    .given([at(opened()), at(missed()), at(statusChanged('active', 'won'))])
    .when(recordMissedCall('CAffffffffffffffffffffffffffffffff'))
    .thenThrows(StateConflictError, /won/);
});

t.test('a retry of a call already on a closed lead is still recognised as a retry', async (t) => {
  spec(t)
    .given([at(opened()), at(missed()), at(statusChanged('active', 'lost'))])
    .when(recordMissedCall())
    .then([]);
});

t.test('a member moves an active lead to booked, won or lost', async (t) => {
  for (const to of ['booked', 'won', 'lost'] as const) {
    spec(t)
      .given([at(opened())])
      .when(move(to, 'called back'))
      .then([at({ type: 'LeadStatusChanged', data: { leadId, from: 'active', to, reason: 'called back' } })]);
  }
});

t.test('moving to the current status records nothing', async (t) => {
  spec(t)
    .given([at(opened())])
    .when(move('active'))
    .then([]);
});

t.test('a closed lead reopens to active but cannot jump to booked', async (t) => {
  spec(t)
    .given([at(opened()), at(statusChanged('active', 'lost'))])
    .when(move('active'))
    .then([at(statusChanged('lost', 'active'))]);
  spec(t)
    .given([at(opened()), at(statusChanged('active', 'lost'))])
    .when(move('booked'))
    .thenThrows(StateConflictError, /reopen/);
});

t.test('a lead followed by a newer one cannot reopen', async (t) => {
  const nextLeadId = '11111111-2222-4333-8444-555555555555';
  spec(t)
    .given([at(opened()), at(statusChanged('active', 'won')), at({ type: 'LeadSuperseded', data: { leadId, nextLeadId } })])
    .when(move('active'))
    .thenThrows(StateConflictError, /newer lead/);
});

t.test('only a closed lead is superseded, once', async (t) => {
  const nextLeadId = '11111111-2222-4333-8444-555555555555';
  const supersede: LeadCommand = { type: 'SupersedeLead', now, data: { leadId, nextLeadId } };
  spec(t)
    .given([at(opened())])
    .when(supersede)
    .thenThrows(StateConflictError, /closed/);
  spec(t)
    .given([at(opened()), at(statusChanged('active', 'lost'))])
    .when(supersede)
    .then([at({ type: 'LeadSuperseded', data: { leadId, nextLeadId } })]);
  spec(t)
    .given([at(opened()), at(statusChanged('active', 'lost')), at({ type: 'LeadSuperseded', data: { leadId, nextLeadId } })])
    .when(supersede)
    .then([]);
});

t.test('linking a booking moves an active lead to booked; linking it again records nothing', async (t) => {
  const link: LeadCommand = { type: 'LinkBooking', now, data: { leadId, bookingId } };
  const linked: LeadEvent = { type: 'LeadBookingLinked', data: { leadId, bookingId } };
  spec(t)
    .given([at(opened())])
    .when(link)
    .then([at(linked), at({ type: 'LeadStatusChanged', data: { leadId, from: 'active', to: 'booked', reason: `booking ${bookingId}` } })]);
  spec(t)
    .given([at(opened()), at(statusChanged('active', 'won'))])
    .when(link)
    .then([at(linked)]);
  spec(t)
    .given([at(opened()), at(linked)])
    .when(link)
    .then([]);
});

t.test('commands on a lead that does not exist are NotFound', async (t) => {
  spec(t).given([]).when(move('won')).thenThrows(NotFoundError);
  spec(t).given([]).when({ type: 'LinkBooking', now, data: { leadId, bookingId } }).thenThrows(NotFoundError);
});

t.test('lifecycle timestamps are set once: Won → Active → Won keeps the first wonAt', async (t) => {
  const state = foldLead([
    at(opened(), '2026-12-01T10:00:00.000Z'),
    at(statusChanged('active', 'booked'), '2026-12-01T11:00:00.000Z'),
    at(statusChanged('booked', 'won'), '2026-12-01T12:00:00.000Z'),
    at(statusChanged('won', 'active'), '2026-12-02T09:00:00.000Z'),
    at(statusChanged('active', 'won'), '2026-12-03T09:00:00.000Z'),
  ])!;
  t.equal(state.status, 'won');
  t.equal(state.activeAt, '2026-12-01T10:00:00.000Z', 'activeAt stays at the opening');
  t.equal(state.bookedAt, '2026-12-01T11:00:00.000Z');
  t.equal(state.wonAt, '2026-12-01T12:00:00.000Z', 'the first wonAt is kept');
  t.equal(state.lostAt, undefined);
  t.equal(state.version, 5);
});

t.test('counts and last activity follow calls, texts and bookings; delivery reports never move back', async (t) => {
  const messageId = 'SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const state = foldLead([
    at(opened(), '2026-12-01T10:00:00.000Z'),
    at(missed(), '2026-12-01T10:00:00.000Z'),
    at(text, '2026-12-01T10:05:00.000Z'),
    at(
      { type: 'TextBackSent', data: { leadId, messageId, to: caller, body: 'Sorry we missed you', sentAt: now, callSid } },
      '2026-12-01T10:01:00.000Z',
    ),
    at({ type: 'MessageDeliveryUpdated', data: { leadId, messageSid: messageId, status: 'delivered' } }, '2026-12-01T10:06:00.000Z'),
    at({ type: 'MessageDeliveryUpdated', data: { leadId, messageSid: messageId, status: 'sent' } }, '2026-12-01T10:07:00.000Z'),
  ])!;
  t.same(state.counts, { missedCalls: 1, inboundTexts: 1, outboundTexts: 1, bookings: 0 });
  t.equal(state.lastActivityAt, '2026-12-01T10:01:00.000Z', 'delivery reports are not activity');
  t.same(state.deliveries[messageId], { status: 'delivered' });
  const view = toLeadView(state);
  t.notOk('callKeys' in view, 'the API view leaves out dedupe bookkeeping');
  t.notOk('deliveries' in view);
});
