import t, { type Test } from 'tap';
import { jobKeys } from '../../src/automation/keys.ts';
import { type AutomationState, type AutomationTrigger, type JobIntent, TASKS, plan } from '../../src/automation/process-manager.ts';
import { type BookingEvent, type BookingState, evolve as evolveBooking } from '../../src/domain/booking.ts';
import type { Envelope } from '../../src/domain/envelope.ts';
import type { EventOf } from '../../src/domain/events/index.ts';
import { type OrgEvent, type OrgState, evolve as evolveOrg } from '../../src/domain/org.ts';

/**
 * Given/when/then for the process manager: given the org's and the booking's past events, when an
 * event arrives, then these job intents. (test/support/gwt.ts fits deciders whose output folds back into
 * their state; intents do not, hence this small equivalent.)
 */
type Given = { org: Envelope<OrgEvent>[]; booking?: Envelope<BookingEvent>[] };
const spec = (t: Test) => ({
  given: (given: Given) => ({
    when: (event: AutomationTrigger) => {
      const state: AutomationState = {
        org: given.org.reduce<OrgState>(evolveOrg, null),
        booking: (given.booking ?? []).reduce<BookingState>(evolveBooking, null),
      };
      return { then: (expected: JobIntent[]) => t.same(plan(event, state), expected) };
    },
  }),
});

const orgId = '9a8b7c6d-5e4f-4321-9876-543210fedcba';
const bookingId = '3f1e2d4c-5b6a-4789-8abc-def012345678';
const leadId = '7c6b5a49-3827-4165-9abc-0123456789ab';
const now = '2031-03-10T15:00:00.000Z'; // 10:00 CDT
const window = { start: '2031-03-14T15:00:00.000Z', end: '2031-03-14T17:00:00.000Z' };
const cause = { eventId: 'e-1', correlationId: 'c-1' };

const orgCreated: Envelope<OrgEvent> = {
  type: 'OrgCreated',
  data: { orgId, name: 'Acme HVAC', timezone: 'America/Chicago', phones: ['+15125550100'] },
  occurredAt: '2031-01-01T00:00:00.000Z',
};
const settings = (changes: Extract<OrgEvent, { type: 'OrgSettingsChanged' }>['data']['changes']): Envelope<OrgEvent> => ({
  type: 'OrgSettingsChanged',
  data: { orgId, changes },
  occurredAt: '2031-01-02T00:00:00.000Z',
});

const createdData = {
  bookingId,
  orgId,
  window,
  timezone: 'America/Chicago',
  customer: { name: 'Dana Diaz', phone: '+15125550199' },
  source: { actorType: 'integration' as const, actorId: 'cred-1', label: 'Dispatch' },
  reminderOffsetsMinutes: [1440, 120],
};
const created = (occurredAt = now, data: Partial<typeof createdData> = {}): Envelope<BookingEvent> => ({
  type: 'BookingCreated',
  data: { ...createdData, ...data },
  occurredAt,
});
const trigger = (event: Envelope<BookingEvent> | Envelope<EventOf<'MissedCallRecorded'>>, revision = 0) =>
  ({ ...event, id: 'e-1', revision, correlationId: 'c-1' }) as AutomationTrigger;

const confirmation = (runAt = now): JobIntent => ({
  op: 'add',
  key: jobKeys.confirmation(bookingId),
  task: TASKS.confirmation,
  runAt,
  payload: { task: TASKS.confirmation, key: jobKeys.confirmation(bookingId), orgId, bookingId, cause },
});
const reminder = (offsetMinutes: number, dueAt: string, runAt = dueAt, op: 'add' | 'replace' = 'add'): JobIntent => {
  const key = jobKeys.reminder(bookingId, offsetMinutes, dueAt);
  return { op, key, task: TASKS.reminder, runAt, payload: { task: TASKS.reminder, key, orgId, bookingId, offsetMinutes, dueAt, cause } };
};
const remove = (offsetMinutes: number, dueAt: string): JobIntent => ({
  op: 'remove',
  key: jobKeys.reminder(bookingId, offsetMinutes, dueAt),
});

t.test('a created booking gets a confirmation now and a reminder 24 h and 2 h before the window', async (t) => {
  spec(t)
    .given({ org: [orgCreated] })
    .when(trigger(created()))
    .then([confirmation(), reminder(1440, '2031-03-13T15:00:00.000Z'), reminder(120, '2031-03-14T13:00:00.000Z')]);
});

t.test('with confirmations off a created booking still queues its confirmation job, which records the skip', async (t) => {
  spec(t)
    .given({ org: [orgCreated, settings({ confirmations: false })] })
    .when(trigger(created()))
    .then([confirmation(), reminder(1440, '2031-03-13T15:00:00.000Z'), reminder(120, '2031-03-14T13:00:00.000Z')]);
});

t.test('a reminder whose time has already passed is not queued', async (t) => {
  // Booked 3 hours before the visit: the 24 h reminder is in the past, the 2 h one is not.
  const bookedAt = '2031-03-14T12:00:00.000Z';
  spec(t)
    .given({ org: [orgCreated] })
    .when(trigger(created(bookedAt)))
    .then([confirmation(bookedAt), reminder(120, '2031-03-14T13:00:00.000Z')]);
});

t.test('the org reminder offsets in force at booking time decide the reminders', async (t) => {
  spec(t)
    .given({ org: [orgCreated] })
    .when(trigger(created(now, { reminderOffsetsMinutes: [60] })))
    .then([confirmation(), reminder(60, '2031-03-14T14:00:00.000Z')]);
});

t.test('quiet hours defer the confirmation and a reminder to the end of the quiet hours, never drop them', async (t) => {
  const lateEvening = '2031-03-11T03:30:00.000Z'; // 22:30 CDT on the 10th
  const early = { start: '2031-03-14T13:00:00.000Z', end: '2031-03-14T15:00:00.000Z' }; // 08:00 CDT; 2 h reminder at 06:00
  spec(t)
    .given({ org: [orgCreated, settings({ quietHours: { start: '21:00', end: '08:00' } })] })
    .when(trigger(created(lateEvening, { window: early })))
    .then([
      confirmation('2031-03-11T13:00:00.000Z'),
      reminder(1440, '2031-03-13T13:00:00.000Z'),
      reminder(120, '2031-03-14T11:00:00.000Z', '2031-03-14T13:00:00.000Z'),
    ]);
});

t.test('a reschedule removes the old reminders, queues the new ones and a "your visit moved" notice', async (t) => {
  const later = { start: '2031-03-16T15:00:00.000Z', end: '2031-03-16T17:00:00.000Z' };
  const movedAt = '2031-03-11T15:00:00.000Z';
  const rescheduled: Envelope<BookingEvent> = {
    type: 'BookingRescheduled',
    data: { bookingId, previousWindow: window, window: later, reminderOffsetsMinutes: [1440, 120] },
    occurredAt: movedAt,
  };
  const noticeKey = jobKeys.rescheduledNotice(bookingId, 1);
  spec(t)
    .given({ org: [orgCreated], booking: [created()] })
    .when(trigger(rescheduled, 1))
    .then([
      remove(1440, '2031-03-13T15:00:00.000Z'),
      remove(120, '2031-03-14T13:00:00.000Z'),
      reminder(1440, '2031-03-15T15:00:00.000Z'),
      reminder(120, '2031-03-16T13:00:00.000Z'),
      {
        op: 'add',
        key: noticeKey,
        task: TASKS.notice,
        runAt: movedAt,
        payload: { task: TASKS.notice, key: noticeKey, orgId, bookingId, kind: 'rescheduled', windowStart: later.start, cause },
      },
    ]);
});

t.test('a reschedule that keeps the start replaces the reminders under the same keys', async (t) => {
  const longer = { start: window.start, end: '2031-03-14T18:00:00.000Z' };
  const rescheduled: Envelope<BookingEvent> = {
    type: 'BookingRescheduled',
    data: { bookingId, previousWindow: window, window: longer, reminderOffsetsMinutes: [1440, 120] },
    occurredAt: now,
  };
  const intents = plan(trigger(rescheduled, 1), {
    org: evolveOrg(null, orgCreated),
    booking: evolveBooking(null, created()),
  });
  t.same(
    intents.filter((i) => i.op !== 'add' || i.task !== TASKS.notice).map((i) => [i.op, i.key]),
    [
      ['replace', jobKeys.reminder(bookingId, 1440, '2031-03-13T15:00:00.000Z')],
      ['replace', jobKeys.reminder(bookingId, 120, '2031-03-14T13:00:00.000Z')],
    ],
  );
});

t.test('a reschedule leaves a reminder already sent alone', async (t) => {
  const later = { start: '2031-03-16T15:00:00.000Z', end: '2031-03-16T17:00:00.000Z' };
  const sent: Envelope<BookingEvent> = {
    type: 'ReminderSent',
    data: {
      bookingId,
      offsetMinutes: 1440,
      dueAt: '2031-03-13T15:00:00.000Z',
      messageId: 'LM1',
      to: '+15125550199',
      sentAt: '2031-03-13T15:00:01.000Z',
    },
    occurredAt: '2031-03-13T15:00:01.000Z',
  };
  const rescheduled: Envelope<BookingEvent> = {
    type: 'BookingRescheduled',
    data: { bookingId, previousWindow: window, window: later, reminderOffsetsMinutes: [1440, 120] },
    occurredAt: '2031-03-13T16:00:00.000Z',
  };
  const intents = plan(trigger(rescheduled, 2), {
    org: evolveOrg(null, orgCreated),
    booking: [created(), sent].reduce<BookingState>(evolveBooking, null),
  });
  t.same(
    intents.map((i) => [i.op, i.key]),
    [
      ['remove', jobKeys.reminder(bookingId, 120, '2031-03-14T13:00:00.000Z')],
      ['add', jobKeys.reminder(bookingId, 1440, '2031-03-15T15:00:00.000Z')],
      ['add', jobKeys.reminder(bookingId, 120, '2031-03-16T13:00:00.000Z')],
      ['add', jobKeys.rescheduledNotice(bookingId, 2)],
    ],
  );
});

t.test('a cancellation removes the pending reminders and queues a cancellation notice', async (t) => {
  const canceledAt = '2031-03-12T15:00:00.000Z';
  const canceled: Envelope<BookingEvent> = { type: 'BookingCanceled', data: { bookingId, canceledAt }, occurredAt: canceledAt };
  const key = jobKeys.canceledNotice(bookingId);
  spec(t)
    .given({ org: [orgCreated], booking: [created()] })
    .when(trigger(canceled, 1))
    .then([
      remove(1440, '2031-03-13T15:00:00.000Z'),
      remove(120, '2031-03-14T13:00:00.000Z'),
      {
        op: 'add',
        key,
        task: TASKS.notice,
        runAt: canceledAt,
        payload: { task: TASKS.notice, key, orgId, bookingId, kind: 'canceled', windowStart: window.start, cause },
      },
    ]);
});

const missedCall = {
  type: 'MissedCallRecorded' as const,
  data: {
    leadId,
    callSid: 'CA0123456789abcdef0123456789abcdef',
    from: '+15125550177',
    to: '+15125550100',
    callStatus: 'no-answer' as const,
    calledAt: now,
  },
  occurredAt: now,
};

t.test('a missed call queues one text-back to the caller from the number they called', async (t) => {
  const key = jobKeys.textBack(leadId, missedCall.data.callSid);
  spec(t)
    .given({ org: [orgCreated] })
    .when(trigger(missedCall, 1))
    .then([
      {
        op: 'add',
        key,
        task: TASKS.textBack,
        runAt: now,
        payload: {
          task: TASKS.textBack,
          key,
          orgId,
          leadId,
          callSid: missedCall.data.callSid,
          to: '+15125550177',
          from: '+15125550100',
          cause,
        },
      },
    ]);
});

t.test('a missed call in quiet hours is texted back when they end', async (t) => {
  const night = { ...missedCall, occurredAt: '2031-03-11T04:10:00.000Z' }; // 23:10 CDT
  const intents = plan(trigger(night, 1), {
    org: [orgCreated, settings({ quietHours: { start: '21:00', end: '08:00' } })].reduce<OrgState>(evolveOrg, null),
    booking: null,
  });
  t.same(
    intents.map((i) => i.op !== 'remove' && i.runAt),
    ['2031-03-11T13:00:00.000Z'],
  );
});

t.test('with text-back off a missed call queues nothing', async (t) => {
  spec(t)
    .given({ org: [orgCreated, settings({ textBack: false })] })
    .when(trigger(missedCall, 1))
    .then([]);
});

t.test('an event of an unknown org queues nothing', async (t) => {
  spec(t).given({ org: [] }).when(trigger(created())).then([]);
});

t.test('the same event and state always give the same intents (a replay would only replace jobs under the same keys)', async (t) => {
  const state = { org: evolveOrg(null, orgCreated), booking: null };
  t.same(plan(trigger(created()), state), plan(trigger(created()), state));
});

t.test('with on-call phones a missed call also queues one staff alert (15-minute rule decided by the job)', async (t) => {
  const org = [orgCreated, settings({ textBack: false, onCallPhones: ['+15125550901', '+15125550902'] })].reduce<OrgState>(evolveOrg, null);
  const key = jobKeys.staffAlert(leadId, 'e-1');
  t.same(plan(trigger(missedCall, 1), { org, booking: null }), [
    {
      op: 'add',
      key,
      task: TASKS.staffAlert,
      runAt: now,
      payload: { task: TASKS.staffAlert, key, orgId, leadId, trigger: 'missed_call', at: now, cause },
    },
  ]);
  const fromOnCall = { ...missedCall, data: { ...missedCall.data, from: '+15125550901' } };
  t.same(plan(trigger(fromOnCall, 1), { org, booking: null }), [], "an on-call phone's own call alerts nobody");
});

t.test('round-robin on: a new lead queues its assignment; off (the default): nothing', async (t) => {
  const opened = {
    type: 'LeadOpened' as const,
    data: { leadId, orgId, callerPhone: '+15125550177', generation: 0, source: 'missed_call' as const },
    occurredAt: now,
  };
  const on = [orgCreated, settings({ autoAssign: 'round_robin' })].reduce<OrgState>(evolveOrg, null);
  const key = jobKeys.autoAssign(leadId);
  t.same(plan({ ...opened, id: 'e-1', revision: 0, correlationId: 'c-1' } as AutomationTrigger, { org: on, booking: null }), [
    { op: 'add', key, task: TASKS.autoAssign, runAt: now, payload: { task: TASKS.autoAssign, key, orgId, leadId, cause } },
  ]);
  t.same(
    plan({ ...opened, id: 'e-1', revision: 0, correlationId: 'c-1' } as AutomationTrigger, {
      org: evolveOrg(null, orgCreated),
      booking: null,
    }),
    [],
  );
});
