import type { z } from 'zod';
import type { customer, service } from './events/booking.ts';
import type { EventOf } from './events/index.ts';
import type { Envelope } from './envelope.ts';
import { DomainRuleError, NotFoundError, StateConflictError } from './errors.ts';
import { MAX_WINDOW_MS, type TimeWindow } from './values.ts';

/** Booking stream name. */
export const bookingStream = (bookingId: string) => `booking-${bookingId}`;

type ReminderStatus = 'scheduled' | 'sent' | 'canceled' | 'skipped' | 'failed';

/** One reminder of a booking, as the API shows it. */
export interface Reminder {
  offsetMinutes: number;
  dueAt: string;
  status: ReminderStatus;
  sentAt?: string;
}

/** A booking as the API shows it (CONTRACT §3 "Booking"); also the state `decide` works on. */
export interface Booking {
  id: string;
  orgId: string;
  status: 'scheduled' | 'canceled';
  window: TimeWindow;
  timezone: string;
  customer: z.output<typeof customer>;
  service?: z.output<typeof service>;
  notes?: string;
  leadId?: string;
  externalRef?: string;
  source: { actorType: 'integration' | 'team_member' | 'system'; actorId: string; label: string };
  confirmation: { status: 'pending' | 'sent' | 'skipped' | 'failed'; sentAt?: string };
  reminders: Reminder[];
  canceledAt?: string;
  cancelReason?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Booking aggregate state: nothing yet, or the booking. */
export type BookingState = Booking | null;

/** Events of the booking stream. */
export type BookingEvent = EventOf<
  | 'BookingCreated'
  | 'BookingRescheduled'
  | 'BookingCanceled'
  | 'ConfirmationSent'
  | 'ConfirmationSkipped'
  | 'ConfirmationFailed'
  | 'ReminderSent'
  | 'ReminderSkipped'
  | 'ReminderFailed'
  | 'BookingNoticeSent'
  | 'BookingTextDeferred'
>;

/** Every type of {@link BookingEvent}: everything on a booking stream (for subscription filters). */
export const BOOKING_EVENT_TYPES = [
  'BookingCreated',
  'BookingRescheduled',
  'BookingCanceled',
  'ConfirmationSent',
  'ConfirmationSkipped',
  'ConfirmationFailed',
  'ReminderSent',
  'ReminderSkipped',
  'ReminderFailed',
  'BookingNoticeSent',
  'BookingTextDeferred',
] as const satisfies readonly BookingEvent['type'][];

/** Commands on a booking; `now` is the caller's clock. */
export type BookingCommand =
  | {
      type: 'CreateBooking';
      now: string;
      data: Omit<EventOf<'BookingCreated'>['data'], 'timezone'> & { timezone?: string; orgTimezone: string };
    }
  | {
      type: 'RescheduleBooking';
      now: string;
      data: { bookingId: string; window: TimeWindow; reason?: string; reminderOffsetsMinutes: number[] };
    }
  | { type: 'CancelBooking'; now: string; data: { bookingId: string; reason?: string } };

function checkWindow(window: TimeWindow): void {
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  if (end <= start) throw new DomainRuleError('window.end', 'must be after window.start');
  if (end - start > MAX_WINDOW_MS) throw new DomainRuleError('window.end', 'must be at most 12 hours after window.start');
}

/** Decides which events a command produces; throws on a broken rule or a state conflict. */
export function decide(command: BookingCommand, state: BookingState): BookingEvent[] {
  switch (command.type) {
    case 'CreateBooking': {
      if (state) throw new StateConflictError('booking_state_conflict', 'the booking already exists');
      checkWindow(command.data.window);
      const { orgTimezone, timezone, ...data } = command.data;
      return [{ type: 'BookingCreated', data: { ...data, timezone: timezone ?? orgTimezone } }];
    }
    case 'RescheduleBooking': {
      if (!state) throw new NotFoundError('booking not found');
      if (state.status === 'canceled') throw new StateConflictError('booking_state_conflict', 'a canceled booking cannot be rescheduled');
      checkWindow(command.data.window);
      if (state.window.start === command.data.window.start && state.window.end === command.data.window.end) return [];
      const { bookingId, window, reason, reminderOffsetsMinutes } = command.data;
      return [
        {
          type: 'BookingRescheduled',
          data: { bookingId, previousWindow: state.window, window, ...(reason !== undefined && { reason }), reminderOffsetsMinutes },
        },
      ];
    }
    case 'CancelBooking': {
      if (!state) throw new NotFoundError('booking not found');
      if (state.status === 'canceled') throw new StateConflictError('booking_state_conflict', 'the booking is already canceled');
      const { bookingId, reason } = command.data;
      return [{ type: 'BookingCanceled', data: { bookingId, ...(reason !== undefined && { reason }), canceledAt: command.now } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

function planReminders(window: TimeWindow, offsets: readonly number[], now: string): Reminder[] {
  const start = Date.parse(window.start);
  const nowMs = Date.parse(now);
  return [...new Set(offsets)]
    .sort((a, b) => b - a)
    .map((offsetMinutes) => ({
      offsetMinutes,
      dueAt: new Date(start - offsetMinutes * 60_000).toISOString(),
      status: 'scheduled' as const,
    }))
    .filter((r) => Date.parse(r.dueAt) > nowMs);
}

function updateReminder(state: Booking, dueAt: string, offsetMinutes: number, change: Partial<Reminder>): Reminder[] {
  return state.reminders.map((r) => (r.offsetMinutes === offsetMinutes && r.dueAt === dueAt ? { ...r, ...change } : r));
}

/** Folds one event into the state. */
export function evolve(state: BookingState, event: Envelope<BookingEvent>): BookingState {
  const at = event.occurredAt;
  if (event.type === 'BookingCreated') {
    const { bookingId, reminderOffsetsMinutes, ...rest } = event.data;
    return {
      id: bookingId,
      ...rest,
      status: 'scheduled',
      confirmation: { status: 'pending' },
      reminders: planReminders(rest.window, reminderOffsetsMinutes, at),
      createdAt: at,
      updatedAt: at,
      version: 1,
    };
  }
  if (!state) return state;
  const next = { ...state, updatedAt: at, version: state.version + 1 };
  switch (event.type) {
    case 'BookingRescheduled': {
      const kept = state.reminders.filter((r) => r.status !== 'scheduled');
      return {
        ...next,
        window: event.data.window,
        reminders: [...kept, ...planReminders(event.data.window, event.data.reminderOffsetsMinutes, at)],
      };
    }
    case 'BookingCanceled':
      return {
        ...next,
        status: 'canceled',
        canceledAt: event.data.canceledAt,
        ...(event.data.reason !== undefined && { cancelReason: event.data.reason }),
        reminders: state.reminders.map((r) => (r.status === 'scheduled' ? { ...r, status: 'canceled' as const } : r)),
      };
    case 'ConfirmationSent':
      return { ...next, confirmation: { status: 'sent', sentAt: event.data.sentAt } };
    case 'ConfirmationSkipped':
      return { ...next, confirmation: { status: 'skipped' } };
    case 'ConfirmationFailed':
      return { ...next, confirmation: { status: 'failed' } };
    case 'ReminderSent':
      return {
        ...next,
        reminders: updateReminder(state, event.data.dueAt, event.data.offsetMinutes, { status: 'sent', sentAt: event.data.sentAt }),
      };
    case 'ReminderSkipped':
      return { ...next, reminders: updateReminder(state, event.data.dueAt, event.data.offsetMinutes, { status: 'skipped' }) };
    case 'ReminderFailed':
      return { ...next, reminders: updateReminder(state, event.data.dueAt, event.data.offsetMinutes, { status: 'failed' }) };
    case 'BookingNoticeSent':
    case 'BookingTextDeferred':
      return next;
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
}

/** Folds a stream's events from nothing. */
export function foldBooking(events: readonly Envelope<BookingEvent>[]): BookingState {
  return events.reduce<BookingState>(evolve, null);
}
