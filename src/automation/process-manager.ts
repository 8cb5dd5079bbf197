import { type Booking, type BookingState, evolve as evolveBooking } from '../domain/booking.ts';
import type { Envelope } from '../domain/envelope.ts';
import type { EventOf } from '../domain/events/index.ts';
import { type Org, settingsOf } from '../domain/org.ts';
import { jobKeys } from './keys.ts';
import { nextAllowed } from './quiet-hours.ts';

/**
 * The process manager, pure: an event and the small state it needs → job intents. No I/O, no clock:
 * run instants derive from the event's own `occurredAt` and the booking's planned reminders, so the
 * same event and state always give the same intents. Its subscriber (process-manager-runner.ts) loads the
 * state and applies the intents with graphile-worker's `add_job`/`remove_job` in its checkpoint's
 * transaction.
 */

/** Task identifiers of graphile-worker jobs. */
export const TASKS = {
  confirmation: 'booking-confirmation',
  reminder: 'booking-reminder',
  notice: 'booking-notice',
  textBack: 'text-back',
  reply: 'lead-reply',
  responseDue: 'lead-response-due',
  staffAlert: 'staff-alert',
  autoAssign: 'lead-auto-assign',
} as const;
export type TaskName = (typeof TASKS)[keyof typeof TASKS];

/** What caused a job: carried into the evidence event's correlation and causation. */
export interface JobCause {
  eventId: string;
  correlationId: string;
}

/** Job payloads, per task. `key` is the job key (also the message's key; see keys.ts). */
export type JobPayload =
  | { task: typeof TASKS.confirmation; key: string; orgId: string; bookingId: string; cause: JobCause }
  | { task: typeof TASKS.reminder; key: string; orgId: string; bookingId: string; offsetMinutes: number; dueAt: string; cause: JobCause }
  | {
      task: typeof TASKS.notice;
      key: string;
      orgId: string;
      bookingId: string;
      kind: 'rescheduled' | 'canceled';
      windowStart: string;
      cause: JobCause;
    }
  | { task: typeof TASKS.textBack; key: string; orgId: string; leadId: string; callSid: string; to: string; from: string; cause: JobCause }
  | { task: typeof TASKS.reply; key: string; orgId: string; leadId: string; messageId: string; cause: JobCause }
  | { task: typeof TASKS.responseDue; key: string; orgId: string; leadId: string; cause: JobCause }
  /** `at`: when the call or text came (the 15-minute rule per lead counts from it). */
  | {
      task: typeof TASKS.staffAlert;
      key: string;
      orgId: string;
      leadId: string;
      trigger: 'missed_call' | 'inbound_text';
      at: string;
      cause: JobCause;
    }
  | { task: typeof TASKS.autoAssign; key: string; orgId: string; leadId: string; cause: JobCause };

/**
 * A change to the job queue. `add` and `replace` are both graphile-worker's `add_job` with the job key
 * (an existing pending job under the key is replaced); `replace` says the key was already scheduled.
 * `remove` is `remove_job(key)`.
 */
export type JobIntent =
  { op: 'add' | 'replace'; key: string; task: TaskName; runAt: string; payload: JobPayload } | { op: 'remove'; key: string };

/** The payload fields of `task` besides what every job carries (its task, key, org and cause). */
type JobFields<T extends TaskName> = Omit<Extract<JobPayload, { task: T }>, 'task' | 'key' | 'orgId' | 'cause'>;

/**
 * The one way the process manager builds a job intent: graphile-worker's `add_job` of `task` under `key`
 * at `runAt` (`replace` when the key was already scheduled), its payload carrying the org and the cause.
 */
function jobsFor(orgId: string, cause: JobCause) {
  return <T extends TaskName>(task: T, key: string, runAt: string, fields: JobFields<T>, op: 'add' | 'replace' = 'add'): JobIntent => ({
    op,
    key,
    task,
    runAt,
    payload: { task, key, orgId, cause, ...fields } as Extract<JobPayload, { task: T }>,
  });
}

/** Events the process manager reacts to. */
export type AutomationEvent = EventOf<
  | 'BookingCreated'
  | 'BookingRescheduled'
  | 'BookingCanceled'
  | 'MissedCallRecorded'
  | 'OutboundTextRequested'
  | 'LeadOpened'
  | 'InboundTextReceived'
>;

/** Types of {@link AutomationEvent}, for subscription filters. */
export const AUTOMATION_EVENT_TYPES = [
  'BookingCreated',
  'BookingRescheduled',
  'BookingCanceled',
  'MissedCallRecorded',
  'OutboundTextRequested',
  'LeadOpened',
  'InboundTextReceived',
] as const satisfies readonly AutomationEvent['type'][];

/** An event as the process manager sees it: the envelope plus its identity in the store. */
export type AutomationTrigger = Envelope<AutomationEvent> & {
  readonly id: string;
  readonly revision: number;
  readonly correlationId: string;
};

/**
 * The state the process manager decides on: the org as it is now (settings, time zone, quiet hours)
 * and, for booking events, the booking as it was just before the event.
 */
export interface AutomationState {
  readonly org: Org | null;
  readonly booking: BookingState;
}

const scheduled = (booking: Booking | null) => (booking?.reminders ?? []).filter((r) => r.status === 'scheduled');

/** Decides the job intents of one event: the texts to customers, then the team's (alerts, assignment). */
export function plan(event: AutomationTrigger, state: AutomationState): JobIntent[] {
  return [...planTexts(event, state), ...planTeam(event, state)];
}

/**
 * The team's jobs (CONTRACT §10): a new missed call or text alerts the on-call phones (one job per event;
 * the job itself keeps to one alert per lead per 15 minutes), and a new lead is assigned round-robin when
 * the org says so. Activity from an on-call phone itself alerts nobody (a staff member answering an alert
 * by text must not set off another).
 */
function planTeam(event: AutomationTrigger, state: AutomationState): JobIntent[] {
  const { org } = state;
  if (!org) return [];
  const settings = settingsOf(org);
  const cause: JobCause = { eventId: event.id, correlationId: event.correlationId };
  const orgId = org.id;
  const job = jobsFor(orgId, cause);
  switch (event.type) {
    case 'MissedCallRecorded':
    case 'InboundTextReceived': {
      const { leadId, from } = event.data;
      if (!settings.onCallPhones.length || settings.onCallPhones.includes(from)) return [];
      const key = jobKeys.staffAlert(leadId, event.id);
      const trigger = event.type === 'MissedCallRecorded' ? 'missed_call' : 'inbound_text';
      return [job(TASKS.staffAlert, key, event.occurredAt, { leadId, trigger, at: event.occurredAt })];
    }
    case 'LeadOpened': {
      if (settings.autoAssign !== 'round_robin') return [];
      const key = jobKeys.autoAssign(event.data.leadId);
      return [job(TASKS.autoAssign, key, event.occurredAt, { leadId: event.data.leadId })];
    }
    default:
      return [];
  }
}

/** The texts to customers (and the first-response check) an event queues. */
function planTexts(event: AutomationTrigger, state: AutomationState): JobIntent[] {
  const { org } = state;
  if (!org) return [];
  const cause: JobCause = { eventId: event.id, correlationId: event.correlationId };
  const at = (instant: string) => nextAllowed(instant, org.settings.quietHours, org.timezone);
  const orgId = org.id;
  const job = jobsFor(orgId, cause);

  const reminderJobs = (before: Booking | null, after: Booking): JobIntent[] => {
    const old = new Set(scheduled(before).map((r) => jobKeys.reminder(after.id, r.offsetMinutes, r.dueAt)));
    const fresh = scheduled(after).map((r) => ({ r, key: jobKeys.reminder(after.id, r.offsetMinutes, r.dueAt) }));
    const keep = new Set(fresh.map((f) => f.key));
    return [
      ...[...old].filter((key) => !keep.has(key)).map((key): JobIntent => ({ op: 'remove', key })),
      ...fresh.map(({ r, key }): JobIntent =>
        job(
          TASKS.reminder,
          key,
          at(r.dueAt),
          { bookingId: after.id, offsetMinutes: r.offsetMinutes, dueAt: r.dueAt },
          old.has(key) ? 'replace' : 'add',
        ),
      ),
    ];
  };

  // "Your visit moved" / "was canceled", when confirmations are on.
  const notice = (key: string, booking: Booking, kind: 'rescheduled' | 'canceled'): JobIntent[] =>
    org.settings.confirmations
      ? [job(TASKS.notice, key, at(event.occurredAt), { bookingId: booking.id, kind, windowStart: booking.window.start })]
      : [];

  switch (event.type) {
    case 'BookingCreated': {
      const booking = evolveBooking(state.booking, event)!;
      if (booking.orgId !== orgId) return [];
      // Queued even with confirmations off: the task then records ConfirmationSkipped, so the booking's
      // confirmation status says "skipped" instead of staying "pending" for ever.
      const key = jobKeys.confirmation(booking.id);
      const confirmation: JobIntent = job(TASKS.confirmation, key, at(event.occurredAt), { bookingId: booking.id });
      return [confirmation, ...reminderJobs(null, booking)];
    }
    case 'BookingRescheduled': {
      const before = state.booking;
      if (!before || before.orgId !== orgId) return [];
      const after = evolveBooking(before, event)!;
      return [...reminderJobs(before, after), ...notice(jobKeys.rescheduledNotice(after.id, event.revision), after, 'rescheduled')];
    }
    case 'BookingCanceled': {
      const before = state.booking;
      if (!before || before.orgId !== orgId) return [];
      const removed = scheduled(before).map((r): JobIntent => ({
        op: 'remove',
        key: jobKeys.reminder(before.id, r.offsetMinutes, r.dueAt),
      }));
      return [...removed, ...notice(jobKeys.canceledNotice(before.id), before, 'canceled')];
    }
    case 'MissedCallRecorded': {
      if (!org.settings.textBack) return [];
      const { leadId, callSid, from, to } = event.data;
      const key = jobKeys.textBack(leadId, callSid);
      // The caller is texted from the number they called (replies then reach the same lead).
      return [job(TASKS.textBack, key, at(event.occurredAt), { leadId, callSid, to: from, from: to })];
    }
    case 'OutboundTextRequested': {
      // A member's text: queued at once (or when the quiet hours end); the task reads the text from the lead.
      const { leadId, messageId } = event.data;
      const key = jobKeys.reply(leadId, messageId);
      return [job(TASKS.reply, key, at(event.occurredAt), { leadId, messageId })];
    }
    case 'InboundTextReceived':
      return [];
    case 'LeadOpened': {
      // The first-response check runs when the response is due (quiet hours do not apply: nobody is texted).
      const { leadId, firstResponseDueAt } = event.data;
      if (!firstResponseDueAt) return [];
      const key = jobKeys.responseDue(leadId);
      return [job(TASKS.responseDue, key, firstResponseDueAt, { leadId })];
    }
    default: {
      const unknown: never = event;
      throw new Error(`unexpected event ${JSON.stringify(unknown)}`);
    }
  }
}
