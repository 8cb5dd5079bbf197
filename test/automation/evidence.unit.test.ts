import t from 'tap';
import {
  type BookingEvidenceState,
  type EvidenceCommand,
  decideBookingEvidence,
  decideTextBackEvidence,
} from '../../src/automation/evidence.ts';
import { jobKeys } from '../../src/automation/keys.ts';
import { evidenceEventId } from '../../src/domain/ids.ts';
import { describeWindow, textBackBody } from '../../src/automation/messages.ts';
import { type BookingEvent, type BookingState, evolve } from '../../src/domain/booking.ts';
import type { Envelope } from '../../src/domain/envelope.ts';

const bookingId = '3f1e2d4c-5b6a-4789-8abc-def012345678';
const now = '2031-03-10T15:00:00.000Z';
const window = { start: '2031-03-14T15:00:00.000Z', end: '2031-03-14T17:00:00.000Z' };
const created: Envelope<BookingEvent> = {
  type: 'BookingCreated',
  data: {
    bookingId,
    orgId: '9a8b7c6d-5e4f-4321-9876-543210fedcba',
    window,
    timezone: 'America/Chicago',
    customer: { name: 'Dana Diaz', phone: '+15125550199' },
    source: { actorType: 'integration', actorId: 'cred-1', label: 'Dispatch' },
    reminderOffsetsMinutes: [1440, 120],
  },
  occurredAt: now,
};
const canceled: Envelope<BookingEvent> = { type: 'BookingCanceled', data: { bookingId, canceledAt: now }, occurredAt: now };
const state = (events: Envelope<BookingEvent>[], recorded: string[] = []): BookingEvidenceState => ({
  recorded: new Set(recorded),
  booking: events.reduce<BookingState>(evolve, null),
});

const key = jobKeys.reminder(bookingId, 1440, '2031-03-13T15:00:00.000Z');
const reminder = (outcome: Extract<EvidenceCommand, { type: 'RecordReminder' }>['outcome']): EvidenceCommand => ({
  type: 'RecordReminder',
  eventId: evidenceEventId(key),
  bookingId,
  offsetMinutes: 1440,
  dueAt: '2031-03-13T15:00:00.000Z',
  outcome,
});
const sent = { kind: 'sent' as const, messageId: 'LM1', to: '+15125550199', sentAt: '2031-03-13T15:00:00.000Z' };

t.test('a sent reminder is recorded', async (t) => {
  t.same(decideBookingEvidence(reminder(sent), state([created])), [
    {
      type: 'ReminderSent',
      data: {
        bookingId,
        offsetMinutes: 1440,
        dueAt: '2031-03-13T15:00:00.000Z',
        messageId: 'LM1',
        to: '+15125550199',
        sentAt: sent.sentAt,
      },
    },
  ]);
});

t.test('a key records at most once, whatever the outcome', async (t) => {
  t.same(decideBookingEvidence(reminder(sent), state([created], [evidenceEventId(key)])), []);
  t.same(decideBookingEvidence(reminder({ kind: 'failed', error: 'x' }), state([created], [evidenceEventId(key)])), []);
});

t.test('a text that went out is recorded even if the booking was canceled meanwhile; a skip then is not', async (t) => {
  t.equal(decideBookingEvidence(reminder(sent), state([created, canceled])).length, 1);
  t.same(decideBookingEvidence(reminder({ kind: 'skipped', reason: 'billing canceled' }), state([created, canceled])), []);
});

t.test('a confirmation skip is recorded only while the confirmation is pending', async (t) => {
  const command: EvidenceCommand = {
    type: 'RecordConfirmation',
    eventId: 'id-1',
    bookingId,
    outcome: { kind: 'skipped', reason: 'booking canceled' },
  };
  t.same(decideBookingEvidence(command, state([created])), [
    { type: 'ConfirmationSkipped', data: { bookingId, reason: 'booking canceled' } },
  ]);
  const confirmed: Envelope<BookingEvent> = {
    type: 'ConfirmationSent',
    data: { bookingId, messageId: 'LM0', to: '+15125550199', sentAt: now },
    occurredAt: now,
  };
  t.same(decideBookingEvidence(command, state([created, confirmed])), []);
});

t.test('a long provider error is clipped in the failure event', async (t) => {
  const [event] = decideBookingEvidence(
    { type: 'RecordConfirmation', eventId: 'id-1', bookingId, outcome: { kind: 'failed', error: 'x'.repeat(2000) } },
    state([created]),
  );
  t.equal((event!.data as { error: string }).error.length, 500);
});

t.test('a text-back outcome lands on the lead once', async (t) => {
  const leadId = '7c6b5a49-3827-4165-9abc-0123456789ab';
  const command = { eventId: 'id-2', leadId, callSid: 'CA1', body: 'hi', outcome: sent };
  t.same(decideTextBackEvidence(command, { recorded: new Set(), leadExists: true }), [
    { type: 'TextBackSent', data: { leadId, messageId: 'LM1', to: '+15125550199', body: 'hi', sentAt: sent.sentAt, callSid: 'CA1' } },
  ]);
  t.same(decideTextBackEvidence(command, { recorded: new Set(['id-2']), leadExists: true }), []);
  t.same(
    decideTextBackEvidence(
      { ...command, outcome: { kind: 'skipped', reason: 'text-back disabled' } },
      { recorded: new Set(), leadExists: true },
    ),
    [{ type: 'TextBackSkipped', data: { leadId, callSid: 'CA1', reason: 'text-back disabled' } }],
  );
});

t.test('message texts: the org name fills {{business}}, times read in the booking time zone with plain spaces', async (t) => {
  t.equal(
    textBackBody('Hi, this is {{business}}. {{ business }} will call you back.', 'Acme HVAC'),
    'Hi, this is Acme HVAC. Acme HVAC will call you back.',
  );
  const text = describeWindow(window, 'America/Chicago');
  t.equal(text, 'Fri, Mar 14, 10:00 AM - 12:00 PM CDT');
  t.notMatch(text, /[^\x20-\x7e]/, 'GSM-safe characters only');
});
