import type { BookingEvent, BookingState } from '../domain/booking.ts';
import type { LeadEvent } from '../domain/lead.ts';

/**
 * Which evidence event a finished job records, pure. A job key has one deterministic event id
 * (keys.ts), so whatever the outcome a key records at most once; `recorded` holds the ids already in
 * the stream. A send that happened is always recorded (it is a fact, even if the booking moved
 * meanwhile); a skip or a failure only while the message is still pending.
 */

/** How a send ended. */
export type Outcome =
  | {
      readonly kind: 'sent';
      readonly messageId: string;
      readonly to: string;
      readonly sentAt: string;
      /** The body as it went out (with the opt-out line a first text ends with), when it differs from the drafted one. */
      readonly body?: string;
    }
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: string };

export type EvidenceCommand =
  | { readonly type: 'RecordConfirmation'; readonly eventId: string; readonly bookingId: string; readonly outcome: Outcome }
  | {
      readonly type: 'RecordReminder';
      readonly eventId: string;
      readonly bookingId: string;
      readonly offsetMinutes: number;
      readonly dueAt: string;
      readonly outcome: Outcome;
    }
  | {
      readonly type: 'RecordNotice';
      readonly eventId: string;
      readonly bookingId: string;
      readonly kind: 'rescheduled' | 'canceled';
      readonly outcome: Extract<Outcome, { kind: 'sent' }>;
    };

/** What the booking evidence decision looks at. */
export interface BookingEvidenceState {
  readonly recorded: ReadonlySet<string>;
  readonly booking: BookingState;
}

/** Error texts are kept short in events. */
const clip = (text: string) => (text.length > 500 ? `${text.slice(0, 499)}…` : text);

export function decideBookingEvidence(command: EvidenceCommand, state: BookingEvidenceState): BookingEvent[] {
  if (state.recorded.has(command.eventId) || !state.booking) return [];
  const { booking } = state;
  switch (command.type) {
    case 'RecordConfirmation': {
      const { bookingId, outcome } = command;
      if (outcome.kind === 'sent')
        return [{ type: 'ConfirmationSent', data: { bookingId, messageId: outcome.messageId, to: outcome.to, sentAt: outcome.sentAt } }];
      if (booking.confirmation.status !== 'pending') return [];
      return outcome.kind === 'skipped'
        ? [{ type: 'ConfirmationSkipped', data: { bookingId, reason: outcome.reason } }]
        : [{ type: 'ConfirmationFailed', data: { bookingId, error: clip(outcome.error) } }];
    }
    case 'RecordReminder': {
      const { bookingId, offsetMinutes, dueAt, outcome } = command;
      if (outcome.kind === 'sent') {
        return [
          {
            type: 'ReminderSent',
            data: { bookingId, offsetMinutes, dueAt, messageId: outcome.messageId, to: outcome.to, sentAt: outcome.sentAt },
          },
        ];
      }
      const pending = booking.reminders.some((r) => r.offsetMinutes === offsetMinutes && r.dueAt === dueAt && r.status === 'scheduled');
      if (!pending) return [];
      return outcome.kind === 'skipped'
        ? [{ type: 'ReminderSkipped', data: { bookingId, offsetMinutes, dueAt, reason: outcome.reason } }]
        : [{ type: 'ReminderFailed', data: { bookingId, offsetMinutes, dueAt, error: clip(outcome.error) } }];
    }
    case 'RecordNotice': {
      const { bookingId, kind, outcome } = command;
      return [
        { type: 'BookingNoticeSent', data: { bookingId, kind, messageId: outcome.messageId, to: outcome.to, sentAt: outcome.sentAt } },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** A text-back's outcome on the lead stream (the lead exists: the missed call is on it). */
export function decideTextBackEvidence(
  command: {
    readonly eventId: string;
    readonly leadId: string;
    readonly callSid: string;
    readonly body: string;
    readonly outcome: Outcome;
  },
  state: { readonly recorded: ReadonlySet<string>; readonly leadExists: boolean },
): LeadEvent[] {
  if (state.recorded.has(command.eventId) || !state.leadExists) return [];
  const { leadId, callSid, body, outcome } = command;
  switch (outcome.kind) {
    case 'sent':
      return [
        {
          type: 'TextBackSent',
          data: { leadId, messageId: outcome.messageId, to: outcome.to, body: outcome.body ?? body, sentAt: outcome.sentAt, callSid },
        },
      ];
    case 'skipped':
      return [{ type: 'TextBackSkipped', data: { leadId, callSid, reason: outcome.reason } }];
    case 'failed':
      return [{ type: 'TextBackFailed', data: { leadId, callSid, error: clip(outcome.error) } }];
    default: {
      const unknown: never = outcome;
      throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
    }
  }
}

/** A member's text's outcome on the lead stream, while the message is still queued (one event per message). */
export function decideReplyEvidence(
  command: {
    readonly eventId: string;
    readonly leadId: string;
    readonly messageId: string;
    readonly to: string;
    readonly body: string;
    readonly outcome: Exclude<Outcome, { kind: 'skipped' }>;
  },
  state: { readonly recorded: ReadonlySet<string>; readonly messageState: 'queued' | 'sent' | 'failed' | undefined },
): LeadEvent[] {
  if (state.recorded.has(command.eventId) || state.messageState === undefined) return [];
  const { leadId, messageId, outcome } = command;
  if (outcome.kind === 'sent') {
    return [
      {
        type: 'OutboundTextSent',
        data: { leadId, messageId, providerMessageId: outcome.messageId, to: outcome.to, body: command.body, sentAt: outcome.sentAt },
      },
    ];
  }
  if (state.messageState !== 'queued') return [];
  return [{ type: 'OutboundTextFailed', data: { leadId, messageId, error: clip(outcome.error) } }];
}
