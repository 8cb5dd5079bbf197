import type { Task, TaskList } from 'graphile-worker';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CommandCaller, CommandDeps } from '../commands/context.ts';
import { type LoadedStream, execute, loadStream } from '../commands/execute.ts';
import { findOrg } from '../commands/org-reads.ts';
import { assignLead, recordResponseOverdue } from '../commands/leads.ts';
import type { Config } from '../config.ts';
import { DomainRuleError, StateConflictError } from '../domain/errors.ts';
import { appOrigin } from '../identity/index.ts';
import { pickRoundRobin } from './round-robin.ts';
import { claimStaffAlert, staffAlertBody } from './staff-alerts.ts';
import { jobKeys } from './keys.ts';
import type { Database } from '../db/schema.ts';
import { type Booking, type BookingEvent, type BookingState, bookingStream, evolve as evolveBooking } from '../domain/booking.ts';
import type { EventOf } from '../domain/events/index.ts';
import { type LeadEvent, type LeadState, evolve as evolveLead, isOpen, leadStream } from '../domain/lead.ts';
import { BILLING_INACTIVE, type Org, settingsOf } from '../domain/org.ts';
import { type EvidenceCommand, type Outcome, decideBookingEvidence, decideReplyEvidence, decideTextBackEvidence } from './evidence.ts';
import { MAX_ATTEMPTS } from './job-queue.ts';
import { evidenceEventId } from '../domain/ids.ts';
import { canceledBody, confirmationBody, reminderBody, rescheduledBody, textBackBody } from './messages.ts';
import {
  LeaseLostError,
  type Messaging,
  type OutboundMessage,
  PermanentMessagingError,
  RecipientOptedOutError,
  type SendGuard,
  type SendLease,
  SendSkippedError,
  type SentMessage,
} from './messaging/port.ts';
import { type JobPayload, TASKS, type TaskName } from './process-manager.ts';
import { WEBHOOK_TASK } from '../commands/webhook-endpoints.ts';
import { type WebhookTaskDeps, deliverPending } from './webhooks/deliver.ts';
import { changeConsent } from '../commands/consent.ts';
import { type TextPurpose, answersContact, consentGuard, mayText } from './may-text.ts';
import { textBackCooldownGuard } from './text-back-cooldown.ts';

/**
 * What tasks need: the store and clock (commands), the database, the messaging adapter, the webhook policy
 * and the app's address (on-call alerts link to the thread).
 */
export interface TaskDeps extends CommandDeps {
  readonly db: Kysely<Database>;
  readonly messaging: Messaging;
  readonly config: WebhookTaskDeps['config'] & Pick<Config, 'PUBLIC_BASE_URL' | 'HOST' | 'PORT'>;
  readonly log?: Logger;
}

/** One run of a job: which attempt, a signal for shutdown, and how to put the job off (quiet hours). */
export interface TaskRun {
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly signal?: AbortSignal;
  /** The job and the worker pool holding it: sends are fenced by it (see OutboundLedger). */
  readonly lease?: SendLease;
  /** Queues the same payload (without the job key) to run at `runAt`. */
  defer(runAt: string): Promise<void>;
}

/** What a run did (logged; returned for tests). */
export interface TaskResult {
  readonly outcome: 'sent' | 'skipped' | 'failed' | 'deferred' | 'noop';
  readonly reason?: string;
  readonly messageId?: string;
  readonly runAt?: string;
}

/** The actor of evidence events. */
export const AUTOMATION_ACTOR = { type: 'system', id: 'automation', label: 'Automation' } as const;

const callerOf = (p: JobPayload): CommandCaller => ({
  orgId: p.orgId,
  actor: AUTOMATION_ACTOR,
  correlationId: p.cause.correlationId,
  causationId: p.cause.eventId,
});

const noop = (reason: string): TaskResult => ({ outcome: 'noop', reason });

/** Why automation skips for this org now, if it does. */
function billingSkip(org: Org): string | undefined {
  return BILLING_INACTIVE.includes(org.billingStatus) ? `billing ${org.billingStatus}` : undefined;
}

function visitStarted(booking: Booking, now: Date): string | undefined {
  return Date.parse(booking.window.start) <= now.getTime() ? 'visit already started' : undefined;
}

/** The reason a send to an opted-out contact ends with (CONTRACT §8). */
export const OPTED_OUT = 'opted_out';

/**
 * The reason automated texts end with on MESSAGING=twilio for an org without an A2P 10DLC campaign id:
 * US carriers block unregistered application-to-person traffic from local numbers (worker start-up says so).
 */
export const NO_A2P_CAMPAIGN = 'no_a2p_campaign';

/** Twilio's error for a recipient who unsubscribed from the sender (texted STOP to it): never retried. */
const TWILIO_UNSUBSCRIBED = '21610';

type Delivery = { sent: SentMessage } | { failed: string } | { optedOut: string } | { skipped: string };

/**
 * Sends, with the contact's consent (and `also`, the job's own send-time rule) checked again in the
 * transaction that records the intent. A permanent refusal, or any error on the last attempt, becomes a
 * failure to record; an opted-out contact (found at send time, or Twilio's 21610, which records the opt-out
 * with source `carrier`) ends the send as `optedOut`; `also` refusing ends it as `skipped`. Otherwise throws (retry).
 */
async function deliver(deps: TaskDeps, run: TaskRun, message: OutboundMessage, also?: SendGuard): Promise<Delivery> {
  const consent = consentGuard(deps, message.orgId, message.to);
  try {
    return {
      sent: await deps.messaging.send(message, {
        ...(run.signal && { signal: run.signal }),
        ...(run.lease && { lease: run.lease }),
        guard: also
          ? async (trx) => {
              await consent(trx);
              await also(trx);
            }
          : consent,
      }),
    };
  } catch (error) {
    // Aborted, or fenced off: another worker owns the job now; never record an outcome from here.
    if (run.signal?.aborted || error instanceof LeaseLostError) throw error;
    const text = (error as Error).message;
    if (error instanceof RecipientOptedOutError) return { optedOut: text };
    if (error instanceof SendSkippedError) return { skipped: error.reason };
    if (error instanceof PermanentMessagingError && error.code === TWILIO_UNSUBSCRIBED) {
      await changeConsent(
        deps,
        { orgId: message.orgId, actor: AUTOMATION_ACTOR, correlationId: message.key },
        { type: 'OptOut', data: { phone: message.to, source: 'carrier', evidence: { by: message.key, errorCode: TWILIO_UNSUBSCRIBED } } },
        `carrier\n${message.key}`,
      );
      deps.log?.warn(
        { key: message.key, orgId: message.orgId },
        'Twilio refused the text (21610, unsubscribed): recorded opted out (carrier)',
      );
      return { optedOut: `${text}; recorded opted out (carrier)` };
    }
    if (error instanceof PermanentMessagingError) return { failed: text };
    if (run.attempt >= run.maxAttempts) return { failed: `gave up after ${run.attempt} attempts: ${text}` };
    throw error;
  }
}

/** Records a deferral and its reason on the timeline of the booking or lead the text is about. */
type NoteDeferral = (until: string, reason: string) => Promise<void>;

/** The one deferral event a job may record for one `until` (a retried run records nothing new). */
const deferralEventId = (key: string, until: string) => evidenceEventId(`${key}\ndeferred\n${until}`);

/** Notes a deferral on a booking's stream (its timeline and audit trail). */
function noteOnBooking(deps: TaskDeps, p: BookingPayload, kind: EventOf<'BookingTextDeferred'>['data']['kind']): NoteDeferral {
  return async (until, reason) => {
    const eventId = deferralEventId(p.key, until);
    await execute<BookingState, BookingEvent>(deps, callerOf(p), {
      streamId: bookingStream(p.bookingId),
      evolve: evolveBooking,
      initial: null,
      decide: ({ state, events }) => ({
        append:
          !state || events.some((e) => e.id === eventId)
            ? []
            : [{ type: 'BookingTextDeferred', data: { bookingId: p.bookingId, kind, until, reason: reason.slice(0, 500) } }],
        eventIds: [eventId],
      }),
    });
  };
}

/** Notes a deferral on a lead's stream (its timeline). */
function noteOnLead(deps: TaskDeps, p: JobPayload & { leadId: string }, kind: 'text_back' | 'reply'): NoteDeferral {
  return async (until, reason) => {
    const eventId = deferralEventId(p.key, until);
    await execute<LeadState, LeadEvent>(deps, callerOf(p), {
      streamId: leadStream(p.leadId),
      evolve: evolveLead,
      initial: null,
      decide: ({ state, events }) => ({
        append:
          !state || events.some((e) => e.id === eventId)
            ? []
            : [{ type: 'LeadTextDeferred', data: { leadId: p.leadId, kind, until, reason: reason.slice(0, 500) } }],
        eventIds: [eventId],
      }),
    });
  };
}

/**
 * Asks {@link mayText} before a send: refused → the outcome to record (skipped, `opted_out`); deferred →
 * the job is queued again for the first allowed minute (never dropped) and the deferral is returned.
 */
async function askMayText(
  deps: TaskDeps,
  run: TaskRun,
  org: Org,
  to: string,
  purpose: TextPurpose,
  note: NoteDeferral,
): Promise<{ skip: string } | { deferred: TaskResult } | undefined> {
  const answer = await mayText(deps, org, to, deps.clock(), purpose);
  switch (answer.kind) {
    case 'allowed':
      return undefined;
    case 'refused':
      return { skip: answer.reason };
    case 'deferred':
      await note(answer.until, answer.reason);
      await run.defer(answer.until);
      deps.log?.info({ orgId: org.id, until: answer.until, reason: answer.reason }, 'text deferred by quiet hours');
      return { deferred: { outcome: 'deferred', reason: `quiet hours: ${answer.reason}`, runAt: answer.until } };
  }
}

/**
 * What every recorded send ends with: a skip reason is recorded as skipped; then the one question
 * (may this org text this number now?): opted out → skipped `opted_out`; quiet hours → the job defers;
 * otherwise the message (with the opt-out line if it is the first to the number) goes out and its outcome is recorded.
 */
async function sendUnlessSkipped(
  deps: TaskDeps,
  run: TaskRun,
  org: Org,
  skip: string | undefined,
  message: () => OutboundMessage,
  record: (outcome: Outcome) => Promise<void>,
  note: NoteDeferral,
  purpose: TextPurpose = 'automated',
  guard?: SendGuard,
): Promise<TaskResult> {
  let outcome: Outcome;
  const unregistered = deps.messaging.provider === 'twilio' && !settingsOf(org).a2pCampaignId ? NO_A2P_CAMPAIGN : undefined;
  if (skip) outcome = { kind: 'skipped', reason: skip };
  else if (unregistered) outcome = { kind: 'skipped', reason: unregistered };
  else {
    const draft = message();
    const asked = await askMayText(deps, run, org, draft.to, purpose, note);
    if (asked && 'deferred' in asked) return asked.deferred;
    if (asked) outcome = { kind: 'skipped', reason: asked.skip };
    else {
      // The opt-out line ends the org's first automated text to the number, decided as the intent is
      // recorded (the ledger); a body too long for both is shortened, never the line.
      const line = settingsOf(org).optOutLine.trim();
      const result = await deliver(deps, run, { ...draft, ...(line && { optOutLine: line }) }, guard);
      const delivered = outcomeOf(draft.to, result);
      outcome = delivered.kind === 'sent' && 'sent' in result ? { ...delivered, body: result.sent.body } : delivered;
    }
  }
  await record(outcome);
  return resultOf(outcome);
}

/** Records `command`'s evidence on the booking, deciding first on the stream as the job read it (`loaded`). */
async function recordOnBooking(
  deps: TaskDeps,
  p: JobPayload & { bookingId: string },
  loaded: LoadedStream<BookingState, BookingEvent>,
  command: EvidenceCommand,
): Promise<void> {
  await execute<BookingState, BookingEvent>(deps, callerOf(p), {
    streamId: bookingStream(p.bookingId),
    evolve: evolveBooking,
    initial: null,
    loaded,
    decide: (current) => ({
      append: decideBookingEvidence(command, { recorded: new Set(current.events.map((e) => e.id)), booking: current.state }),
      eventIds: [command.eventId],
    }),
  });
}

type BookingPayload = Extract<JobPayload, { bookingId: string }>;

/**
 * The booking (from its stream, so never behind) and its org, read together; null when either is gone
 * or foreign. `loaded` is the booking stream as read, which the evidence is then decided on.
 */
async function loadBookingJob(deps: TaskDeps, p: BookingPayload) {
  const [loaded, org] = await Promise.all([
    loadStream<BookingState, BookingEvent>(deps.store, bookingStream(p.bookingId), evolveBooking, null),
    findOrg(deps, p.orgId),
  ]);
  const booking = loaded.state;
  if (!booking || booking.orgId !== p.orgId || !org) return null;
  return { booking, org, loaded, recorded: new Set(loaded.events.map((e) => e.id)) };
}

function bookingMessage(p: BookingPayload, org: Org, booking: Booking, kind: OutboundMessage['kind'], body: string): OutboundMessage {
  return {
    key: p.key,
    orgId: p.orgId,
    kind,
    to: booking.customer.phone,
    ...(org.phones[0] && { from: org.phones[0] }),
    body,
    subject: bookingStream(booking.id),
  };
}

function resultOf(outcome: Outcome): TaskResult {
  switch (outcome.kind) {
    case 'sent':
      return { outcome: 'sent', messageId: outcome.messageId };
    case 'skipped':
      return { outcome: 'skipped', reason: outcome.reason };
    case 'failed':
      return { outcome: 'failed', reason: outcome.error };
  }
}

const outcomeOf = (to: string, result: Delivery): Outcome =>
  'sent' in result
    ? { kind: 'sent', messageId: result.sent.messageId, to, sentAt: result.sent.sentAt }
    : 'optedOut' in result
      ? { kind: 'skipped', reason: OPTED_OUT }
      : 'skipped' in result
        ? { kind: 'skipped', reason: result.skipped }
        : { kind: 'failed', error: result.failed };

async function confirmation(deps: TaskDeps, p: Extract<JobPayload, { task: 'booking-confirmation' }>, run: TaskRun): Promise<TaskResult> {
  const job = await loadBookingJob(deps, p);
  if (!job) return noop('booking or org not found');
  const { booking, org, loaded } = job;
  if (booking.confirmation.status !== 'pending') return noop(`confirmation already ${booking.confirmation.status}`);
  const record = async (outcome: Outcome) => {
    await recordOnBooking(deps, p, loaded, { type: 'RecordConfirmation', eventId: evidenceEventId(p.key), bookingId: booking.id, outcome });
  };
  const skip =
    (booking.status === 'canceled' ? 'booking canceled' : undefined) ??
    billingSkip(org) ??
    (org.settings.confirmations ? undefined : 'confirmations disabled') ??
    visitStarted(booking, deps.clock());
  return sendUnlessSkipped(
    deps,
    run,
    org,
    skip,
    () => bookingMessage(p, org, booking, 'confirmation', confirmationBody(org.name, booking)),
    record,
    noteOnBooking(deps, p, 'confirmation'),
  );
}

async function reminder(deps: TaskDeps, p: Extract<JobPayload, { task: 'booking-reminder' }>, run: TaskRun): Promise<TaskResult> {
  const job = await loadBookingJob(deps, p);
  if (!job) return noop('booking or org not found');
  const { booking, org, loaded } = job;
  // Reminders are replaced on reschedule and canceled with the booking; this one must still be the plan.
  const planned = booking.reminders.find((r) => r.offsetMinutes === p.offsetMinutes && r.dueAt === p.dueAt);
  if (!planned) return noop('the booking moved: this reminder is no longer planned');
  if (planned.status !== 'scheduled') return noop(`reminder already ${planned.status}`);
  const record = async (outcome: Outcome) => {
    await recordOnBooking(deps, p, loaded, {
      type: 'RecordReminder',
      eventId: evidenceEventId(p.key),
      bookingId: booking.id,
      offsetMinutes: p.offsetMinutes,
      dueAt: p.dueAt,
      outcome,
    });
  };
  const skip = billingSkip(org) ?? visitStarted(booking, deps.clock());
  return sendUnlessSkipped(
    deps,
    run,
    org,
    skip,
    () => bookingMessage(p, org, booking, 'reminder', reminderBody(org.name, booking)),
    record,
    noteOnBooking(deps, p, 'reminder'),
  );
}

/**
 * "Your visit moved" / "your visit was canceled". The catalog has no skipped/failed event for notices,
 * so those outcomes are logged only (the booking's own events already tell the change).
 */
async function notice(deps: TaskDeps, p: Extract<JobPayload, { task: 'booking-notice' }>, run: TaskRun): Promise<TaskResult> {
  const job = await loadBookingJob(deps, p);
  if (!job) return noop('booking or org not found');
  const { booking, org, loaded, recorded } = job;
  const eventId = evidenceEventId(p.key);
  if (recorded.has(eventId)) return noop('notice already sent');
  if (p.kind === 'rescheduled') {
    if (booking.status === 'canceled') return noop('booking canceled since');
    if (booking.window.start !== p.windowStart) return noop('the booking moved again');
  }
  const skip =
    billingSkip(org) ??
    (org.settings.confirmations ? undefined : 'confirmations disabled') ??
    (p.kind === 'rescheduled' ? visitStarted(booking, deps.clock()) : undefined);
  const record = async (outcome: Outcome) => {
    if (outcome.kind === 'sent') {
      await recordOnBooking(deps, p, loaded, { type: 'RecordNotice', eventId, bookingId: booking.id, kind: p.kind, outcome });
    } else if (outcome.kind === 'skipped') deps.log?.info({ key: p.key, reason: outcome.reason }, 'booking notice skipped');
    else deps.log?.error({ key: p.key, error: outcome.error }, 'booking notice failed');
  };
  return sendUnlessSkipped(
    deps,
    run,
    org,
    skip,
    () =>
      p.kind === 'rescheduled'
        ? bookingMessage(p, org, booking, 'rescheduled_notice', rescheduledBody(org.name, booking))
        : bookingMessage(p, org, booking, 'canceled_notice', canceledBody(org.name, booking)),
    record,
    noteOnBooking(deps, p, p.kind === 'rescheduled' ? 'rescheduled_notice' : 'canceled_notice'),
  );
}

async function textBack(deps: TaskDeps, p: Extract<JobPayload, { task: 'text-back' }>, run: TaskRun): Promise<TaskResult> {
  const loaded = await loadStream<LeadState, LeadEvent>(deps.store, leadStream(p.leadId), evolveLead, null);
  if (!loaded.state || loaded.state.orgId !== p.orgId) return noop('lead not found');
  const eventId = evidenceEventId(p.key);
  if (loaded.events.some((e) => e.id === eventId)) return noop('text-back already recorded');
  const org = await findOrg(deps, p.orgId);
  if (!org) return noop('org not found');
  const body = textBackBody(org.settings.textBackTemplate, org.name);
  const record = async (outcome: Outcome) => {
    await execute<LeadState, LeadEvent>(deps, callerOf(p), {
      streamId: leadStream(p.leadId),
      evolve: evolveLead,
      initial: null,
      loaded,
      decide: (l) => ({
        append: decideTextBackEvidence(
          { eventId, leadId: p.leadId, callSid: p.callSid, body, outcome },
          { recorded: new Set(l.events.map((e) => e.id)), leadExists: l.state !== null },
        ),
        eventIds: [eventId],
      }),
    });
  };
  const skip = billingSkip(org) ?? (org.settings.textBack ? undefined : 'text-back disabled');
  return sendUnlessSkipped(
    deps,
    run,
    org,
    skip,
    () => ({ key: p.key, orgId: p.orgId, kind: 'text_back', to: p.to, from: p.from, body, subject: leadStream(p.leadId) }),
    record,
    noteOnLead(deps, p, 'text_back'),
    // Within the hour after the call, the text-back answers it: the caller's own hours are theirs to pick.
    answersContact(loaded.state.lastInboundAt, deps.clock().toISOString()) ? 'answer' : 'automated',
    // One text-back per conversation: decided under the caller's text-back lock, as the intent is recorded.
    textBackCooldownGuard(deps, {
      orgId: p.orgId,
      leadId: p.leadId,
      phone: p.to,
      key: p.key,
      clock: deps.clock,
      cooldownMinutes: settingsOf(org).textBackCooldownMinutes,
    }),
  );
}

/**
 * A member's text to the caller of a lead: defers in quiet hours, sends under the job key (the ledger and
 * the provider's own idempotency make a retried job return the message already sent), then records
 * `OutboundTextSent` / `OutboundTextFailed` under the key's one evidence event id.
 */
async function reply(deps: TaskDeps, p: Extract<JobPayload, { task: 'lead-reply' }>, run: TaskRun): Promise<TaskResult> {
  const loaded = await loadStream<LeadState, LeadEvent>(deps.store, leadStream(p.leadId), evolveLead, null);
  const lead = loaded.state;
  if (!lead || lead.orgId !== p.orgId) return noop('lead not found');
  const eventId = evidenceEventId(p.key);
  if (loaded.events.some((e) => e.id === eventId)) return noop('text already recorded');
  const message = lead.requested?.[p.messageId];
  if (!message) return noop('no such text requested');
  if (message.state !== 'queued') return noop(`text already ${message.state}`);
  const org = await findOrg(deps, p.orgId);
  if (!org) return noop('org not found');
  const asked = await askMayText(deps, run, org, message.to, replyPurpose(lead, message.requestedAt), noteOnLead(deps, p, 'reply'));
  if (asked && 'deferred' in asked) return asked.deferred;
  const requested = loaded.events.find((e) => e.type === 'OutboundTextRequested' && e.data.messageId === p.messageId);
  const from = (requested?.type === 'OutboundTextRequested' && requested.data.from) || lead.businessPhone || org.phones[0];
  const result: Delivery = asked
    ? { optedOut: `${message.to} opted out` }
    : await deliver(deps, run, {
        key: p.key,
        orgId: p.orgId,
        kind: 'reply',
        to: message.to,
        ...(from && { from }),
        body: message.body,
        subject: leadStream(p.leadId),
      });
  const outcome = replyOutcome(message.to, result);
  await execute<LeadState, LeadEvent>(deps, callerOf(p), {
    streamId: leadStream(p.leadId),
    evolve: evolveLead,
    initial: null,
    loaded,
    decide: (l) => ({
      append: decideReplyEvidence(
        { eventId, leadId: p.leadId, messageId: p.messageId, to: message.to, body: message.body, outcome },
        { recorded: new Set(l.events.map((e) => e.id)), messageState: l.state?.requested?.[p.messageId]?.state },
      ),
      eventIds: [eventId],
    }),
  });
  return resultOf(outcome);
}

/**
 * The first-response check of a lead: when nobody from the team has answered by the due time, records
 * `LeadResponseOverdue` once (see {@link recordResponseOverdue}); a job run early puts itself off to the due time.
 */
async function responseDue(deps: TaskDeps, p: Extract<JobPayload, { task: 'lead-response-due' }>, run: TaskRun): Promise<TaskResult> {
  const { state } = await loadStream<LeadState, LeadEvent>(deps.store, leadStream(p.leadId), evolveLead, null);
  if (!state || state.orgId !== p.orgId) return noop('lead not found');
  const due = state.firstResponseDueAt;
  if (due && !state.firstRespondedAt && Date.parse(due) > deps.clock().getTime()) {
    await run.defer(due);
    return { outcome: 'deferred', runAt: due };
  }
  const outcome = await recordResponseOverdue(deps, callerOf(p), p.leadId);
  return outcome.duplicate
    ? noop(state.firstRespondedAt ? 'answered in time' : 'nothing to record')
    : { outcome: 'sent', reason: 'overdue recorded' };
}

/**
 * Texts the org's on-call phones about a new missed call or text (CONTRACT §10): at most one alert per lead
 * per 15 minutes, claimed in PostgreSQL before anything is sent (see {@link claimStaffAlert}), so two workers
 * never both alert. Each phone's text goes through the messaging port under its own key with the send-time
 * consent check of that phone (a staff phone that texted STOP gets nothing; the caller's consent is not
 * asked: this text is not to them), and is recorded as `StaffAlerted` on the lead. Billing and the A2P
 * registration apply as to every automated text; quiet hours do not (see `staff` in may-text.ts).
 */
async function staffAlert(deps: TaskDeps, p: Extract<JobPayload, { task: 'staff-alert' }>, run: TaskRun): Promise<TaskResult> {
  const loaded = await loadStream<LeadState, LeadEvent>(deps.store, leadStream(p.leadId), evolveLead, null);
  const lead = loaded.state;
  if (!lead || lead.orgId !== p.orgId) return noop('lead not found');
  const org = await findOrg(deps, p.orgId);
  if (!org) return noop('org not found');
  const settings = settingsOf(org);
  const phones = settings.onCallPhones.filter((phone) => phone !== lead.callerPhone);
  if (!phones.length) return noop('no on-call phones');
  const skip = billingSkip(org) ?? (deps.messaging.provider === 'twilio' && !settings.a2pCampaignId ? NO_A2P_CAMPAIGN : undefined);
  if (skip) {
    deps.log?.info({ key: p.key, reason: skip }, 'on-call alert skipped');
    return { outcome: 'skipped', reason: skip };
  }
  if (!(await claimStaffAlert(deps.db, { orgId: p.orgId, leadId: p.leadId, triggerEventId: p.cause.eventId, at: p.at })))
    return noop('the on-call phones heard about this lead less than 15 minutes ago');
  const trigger = loaded.events.find((e) => e.id === p.cause.eventId);
  const body = staffAlertBody({
    trigger: p.trigger,
    callerPhone: lead.callerPhone,
    link: `${appOrigin(deps.config)}/app/leads/${lead.id}`,
    ...(trigger?.type === 'InboundTextReceived' && { text: trigger.data.body }),
  });
  const from = lead.businessPhone ?? org.phones[0];
  const line = settings.optOutLine.trim();
  const results: string[] = [];
  for (const phone of phones) {
    const key = jobKeys.staffAlertText(p.key, phone);
    const eventId = evidenceEventId(key);
    if (loaded.events.some((e) => e.id === eventId)) continue;
    const asked = await mayText(deps, org, phone, deps.clock(), 'staff');
    const result: Delivery =
      asked.kind === 'refused'
        ? { optedOut: `${phone} opted out` }
        : await deliver(deps, run, {
            key,
            orgId: p.orgId,
            kind: 'staff_alert',
            to: phone,
            ...(from && { from }),
            body,
            subject: leadStream(p.leadId),
            ...(line && { optOutLine: line }),
          });
    if ('sent' in result) {
      const { messageId, sentAt } = result.sent;
      await execute<LeadState, LeadEvent>(deps, callerOf(p), {
        streamId: leadStream(p.leadId),
        evolve: evolveLead,
        initial: null,
        decide: (l) => ({
          append:
            !l.state || l.events.some((e) => e.id === eventId)
              ? []
              : [{ type: 'StaffAlerted', data: { leadId: p.leadId, phone, messageId, trigger: p.trigger, sentAt } }],
          eventIds: [eventId],
        }),
      });
      results.push(`${phone}: sent`);
    } else {
      const reason = 'optedOut' in result ? OPTED_OUT : 'skipped' in result ? result.skipped : result.failed;
      deps.log?.warn({ key, phone, reason }, 'on-call alert not sent');
      results.push(`${phone}: ${reason}`);
    }
  }
  return { outcome: results.some((r) => r.endsWith(': sent')) ? 'sent' : 'skipped', reason: results.join('; ') };
}

/**
 * Round-robin assignment of a new lead (CONTRACT §10): the next member of the rotation (kept in
 * PostgreSQL, see {@link pickRoundRobin}) gets it, unless someone took it meanwhile (a reply, a manual
 * assignment): the assignment expects "nobody" and is refused otherwise.
 */
async function autoAssign(deps: TaskDeps, p: Extract<JobPayload, { task: 'lead-auto-assign' }>): Promise<TaskResult> {
  const { state } = await loadStream<LeadState, LeadEvent>(deps.store, leadStream(p.leadId), evolveLead, null);
  if (!state || state.orgId !== p.orgId) return noop('lead not found');
  if (state.assignee) return noop('already assigned');
  if (!isOpen(state.status)) return noop(`lead ${state.status}`);
  const org = await findOrg(deps, p.orgId);
  if (!org) return noop('org not found');
  if (settingsOf(org).autoAssign !== 'round_robin') return noop('round-robin is off');
  const memberId = await pickRoundRobin(deps.db, org, p.leadId, deps.clock());
  if (!memberId) return noop('nobody to assign');
  try {
    await assignLead(deps, callerOf(p), p.leadId, { memberId, reason: 'round_robin', expectedMemberId: null });
  } catch (error) {
    // Taken meanwhile, or the member left since the pick: the lead stays as it is.
    if (error instanceof StateConflictError || error instanceof DomainRuleError) return noop(error.message);
    throw error;
  }
  return { outcome: 'sent', reason: `assigned to ${memberId}` };
}

/** A member's reply has no skipped evidence: an opted-out recipient is recorded as a failed text with the reason. */
function replyOutcome(to: string, result: Delivery): Exclude<Outcome, { kind: 'skipped' }> {
  const outcome = outcomeOf(to, result);
  if (outcome.kind !== 'skipped') return outcome;
  return { kind: 'failed', error: 'optedOut' in result ? `recipient_opted_out: ${result.optedOut}` : outcome.reason };
}

/** A reply requested within an hour of the caller's own last call or text answers it: `conversational`; else `reply`. */
function replyPurpose(lead: NonNullable<LeadState>, requestedAt: string): TextPurpose {
  return answersContact(lead.lastInboundAt, requestedAt) ? 'conversational' : 'reply';
}

/** Runs one job: re-reads current state, skips, defers or sends, and records the evidence. */
export async function runJob(deps: TaskDeps, payload: JobPayload, run: TaskRun): Promise<TaskResult> {
  switch (payload.task) {
    case TASKS.confirmation:
      return confirmation(deps, payload, run);
    case TASKS.reminder:
      return reminder(deps, payload, run);
    case TASKS.notice:
      return notice(deps, payload, run);
    case TASKS.textBack:
      return textBack(deps, payload, run);
    case TASKS.reply:
      return reply(deps, payload, run);
    case TASKS.responseDue:
      return responseDue(deps, payload, run);
    case TASKS.staffAlert:
      return staffAlert(deps, payload, run);
    case TASKS.autoAssign:
      return autoAssign(deps, payload);
    default: {
      const unknown: never = payload;
      throw new Error(`unknown task ${JSON.stringify(unknown)}`);
    }
  }
}

const cause = z.object({ eventId: z.string(), correlationId: z.string() });
const common = { key: z.string().min(1), orgId: z.uuid(), cause };

/** Job payloads as stored (validated on the way out of the queue). */
export const jobPayload = z.discriminatedUnion('task', [
  z.object({ task: z.literal(TASKS.confirmation), ...common, bookingId: z.uuid() }),
  z.object({
    task: z.literal(TASKS.reminder),
    ...common,
    bookingId: z.uuid(),
    offsetMinutes: z.number().int().positive(),
    dueAt: z.string(),
  }),
  z.object({
    task: z.literal(TASKS.notice),
    ...common,
    bookingId: z.uuid(),
    kind: z.enum(['rescheduled', 'canceled']),
    windowStart: z.string(),
  }),
  z.object({ task: z.literal(TASKS.textBack), ...common, leadId: z.uuid(), callSid: z.string(), to: z.string(), from: z.string() }),
  z.object({ task: z.literal(TASKS.reply), ...common, leadId: z.uuid(), messageId: z.uuid() }),
  z.object({ task: z.literal(TASKS.responseDue), ...common, leadId: z.uuid() }),
  z.object({
    task: z.literal(TASKS.staffAlert),
    ...common,
    leadId: z.uuid(),
    trigger: z.enum(['missed_call', 'inbound_text']),
    at: z.string(),
  }),
  z.object({ task: z.literal(TASKS.autoAssign), ...common, leadId: z.uuid() }),
]) satisfies z.ZodType<JobPayload>;

/**
 * graphile-worker's task list: one task per {@link TASKS} entry, all through {@link runJob}. A send is
 * aborted when graphile-worker aborts the job or when `fence` aborts (the worker lost its liveness), and
 * is fenced by the job's lease (`locked_by`).
 */
export function taskList(deps: TaskDeps, options: { fence?: AbortSignal } = {}): TaskList {
  const task =
    (name: TaskName): Task =>
    async (raw, helpers) => {
      const payload = jobPayload.parse(raw);
      if (payload.task !== name) throw new Error(`job of task ${name} carries a ${payload.task} payload`);
      const result = await runJob(deps, payload, {
        attempt: helpers.job.attempts,
        maxAttempts: helpers.job.max_attempts,
        signal: options.fence ? AbortSignal.any([helpers.abortSignal, options.fence]) : helpers.abortSignal,
        ...(helpers.job.locked_by && { lease: { jobId: helpers.job.id, holder: helpers.job.locked_by } }),
        defer: async (runAt) => {
          await helpers.addJob(name, payload, { runAt: new Date(runAt), maxAttempts: MAX_ATTEMPTS });
        },
      });
      deps.log?.debug({ task: name, key: payload.key, attempt: helpers.job.attempts, ...result }, 'job done');
    };
  return { ...Object.fromEntries(Object.values(TASKS).map((name) => [name, task(name)])), [WEBHOOK_TASK]: webhookTask(deps, options) };
}

const webhookPayload = z.object({ orgId: z.uuid(), endpointId: z.uuid(), resource: z.string().min(1).max(200) });

/**
 * The `webhook-delivery` task: sends the pending deliveries of one (endpoint, resource) in order (see
 * {@link deliverPending}); a retry queues the pair again, under its key and in its named queue, at the
 * retry's time. Aborted and fenced like the messaging tasks.
 */
function webhookTask(deps: TaskDeps, options: { fence?: AbortSignal }): Task {
  return async (raw, helpers) => {
    const key = webhookPayload.parse(raw);
    const queue = `webhook:${key.endpointId}:${key.resource}`;
    const result = await deliverPending(deps, key, {
      signal: options.fence ? AbortSignal.any([helpers.abortSignal, options.fence]) : helpers.abortSignal,
      ...(helpers.job.locked_by && { lease: { jobId: helpers.job.id, holder: helpers.job.locked_by } }),
      requeue: async (runAt) => {
        await helpers.addJob(WEBHOOK_TASK, key, { queueName: queue, jobKey: queue, jobKeyMode: 'replace', runAt, maxAttempts: 25 });
      },
    });
    deps.log?.debug({ task: WEBHOOK_TASK, endpointId: key.endpointId, resource: key.resource, ...result }, 'job done');
  };
}
