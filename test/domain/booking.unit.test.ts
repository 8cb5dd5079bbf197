import t from 'tap';
import { type BookingCommand, type BookingEvent, type BookingState, decide, evolve } from '../../src/domain/booking.ts';
import type { Envelope } from '../../src/domain/envelope.ts';
import { DomainRuleError, NotFoundError, StateConflictError } from '../../src/domain/errors.ts';
import { specFor } from '../support/gwt.ts';

const now = '2026-12-01T12:00:00.000Z';
const at = (event: BookingEvent, occurredAt = now): Envelope<BookingEvent> => ({ ...event, occurredAt });
const bookingId = '3f1e2d4c-5b6a-4789-8abc-def012345678';
const orgId = '9a8b7c6d-5e4f-4321-9876-543210fedcba';
const window = { start: '2026-12-05T15:00:00.000Z', end: '2026-12-05T17:00:00.000Z' };
const source = { actorType: 'integration' as const, actorId: 'cred-1', label: 'Dispatch' };
const customer = { name: 'Dana Diaz', phone: '+15125550199' };

const created: BookingEvent = {
  type: 'BookingCreated',
  data: { bookingId, orgId, window, timezone: 'America/Chicago', customer, source, reminderOffsetsMinutes: [1440, 120] },
};
const canceled: BookingEvent = { type: 'BookingCanceled', data: { bookingId, canceledAt: now } };

const spec = specFor<BookingState, BookingCommand, Envelope<BookingEvent>>({
  decide: (command, state) => decide(command, state).map((e) => at(e)),
  evolve,
  initial: null,
});

const create = (overrides: Partial<Extract<BookingCommand, { type: 'CreateBooking' }>['data']> = {}): BookingCommand => ({
  type: 'CreateBooking',
  now,
  data: { bookingId, orgId, window, customer, source, reminderOffsetsMinutes: [1440, 120], orgTimezone: 'America/Chicago', ...overrides },
});
const reschedule = (w = { start: '2026-12-06T15:00:00.000Z', end: '2026-12-06T16:00:00.000Z' }): BookingCommand => ({
  type: 'RescheduleBooking',
  now,
  data: { bookingId, window: w, reminderOffsetsMinutes: [1440, 120] },
});
const cancel: BookingCommand = { type: 'CancelBooking', now, data: { bookingId, reason: 'customer called' } };

t.test('creating a booking records it with the org time zone by default', async (t) => {
  spec(t)
    .given([])
    .when(create())
    .then([at(created)]);
});

t.test('creating a booking keeps an explicit time zone', async (t) => {
  spec(t)
    .given([])
    .when(create({ timezone: 'America/Denver' }))
    .then([at({ ...created, data: { ...created.data, timezone: 'America/Denver' } })]);
});

t.test('a window whose end is not after its start is refused', async (t) => {
  spec(t)
    .given([])
    .when(create({ window: { start: window.start, end: window.start } }))
    .thenThrows(DomainRuleError, /after window.start/);
});

t.test('a window longer than 12 hours is refused', async (t) => {
  spec(t)
    .given([])
    .when(create({ window: { start: window.start, end: '2026-12-06T03:00:01.000Z' } }))
    .thenThrows(DomainRuleError, /12 hours/);
});

t.test('creating an existing booking conflicts', async (t) => {
  spec(t)
    .given([at(created)])
    .when(create())
    .thenThrows(StateConflictError);
});

t.test('rescheduling moves the window and records the previous one', async (t) => {
  const w = { start: '2026-12-06T15:00:00.000Z', end: '2026-12-06T16:00:00.000Z' };
  spec(t)
    .given([at(created)])
    .when(reschedule(w))
    .then([
      at({ type: 'BookingRescheduled', data: { bookingId, previousWindow: window, window: w, reminderOffsetsMinutes: [1440, 120] } }),
    ]);
});

t.test('rescheduling to the same window changes nothing', async (t) => {
  spec(t)
    .given([at(created)])
    .when(reschedule(window))
    .then([]);
});

t.test('rescheduling a canceled booking conflicts', async (t) => {
  spec(t)
    .given([at(created), at(canceled)])
    .when(reschedule())
    .thenThrows(StateConflictError, /canceled booking cannot be rescheduled/);
});

t.test('rescheduling to an invalid window is refused', async (t) => {
  spec(t)
    .given([at(created)])
    .when(reschedule({ start: window.end, end: window.start }))
    .thenThrows(DomainRuleError);
});

t.test('canceling records the time and reason', async (t) => {
  spec(t)
    .given([at(created)])
    .when(cancel)
    .then([at({ type: 'BookingCanceled', data: { bookingId, reason: 'customer called', canceledAt: now } })]);
});

t.test('canceling twice conflicts', async (t) => {
  spec(t)
    .given([at(created), at(canceled)])
    .when(cancel)
    .thenThrows(StateConflictError, /already canceled/);
});

t.test('changing a booking that does not exist is not found', async (t) => {
  spec(t).given([]).when(cancel).thenThrows(NotFoundError);
  spec(t).given([]).when(reschedule()).thenThrows(NotFoundError);
});

t.test('evolve plans reminders at each offset before the start, none in the past', async (t) => {
  const state = evolve(null, at(created, '2026-12-04T20:00:00.000Z'));
  t.same(
    state?.reminders,
    [{ offsetMinutes: 120, dueAt: '2026-12-05T13:00:00.000Z', status: 'scheduled' }],
    'the 24 h reminder would be in the past',
  );
  const early = evolve(null, at(created));
  t.same(
    early?.reminders.map((r) => r.dueAt),
    ['2026-12-04T15:00:00.000Z', '2026-12-05T13:00:00.000Z'],
  );
});

t.test('evolve replaces scheduled reminders on reschedule and cancels them on cancel', async (t) => {
  const w = { start: '2026-12-08T15:00:00.000Z', end: '2026-12-08T16:00:00.000Z' };
  let state = evolve(null, at(created));
  state = evolve(
    state,
    at({
      type: 'ReminderSent',
      data: { bookingId, offsetMinutes: 1440, dueAt: '2026-12-04T15:00:00.000Z', messageId: 'm1', to: customer.phone, sentAt: now },
    }),
  );
  state = evolve(
    state,
    at({ type: 'BookingRescheduled', data: { bookingId, previousWindow: window, window: w, reminderOffsetsMinutes: [1440, 120] } }),
  );
  t.same(
    state?.reminders.map((r) => [r.dueAt, r.status]),
    [
      ['2026-12-04T15:00:00.000Z', 'sent'],
      ['2026-12-07T15:00:00.000Z', 'scheduled'],
      ['2026-12-08T13:00:00.000Z', 'scheduled'],
    ],
  );
  t.equal(state?.version, 3);
  state = evolve(state, at(canceled));
  t.equal(state?.status, 'canceled');
  t.same(
    state?.reminders.map((r) => r.status),
    ['sent', 'canceled', 'canceled'],
  );
});
