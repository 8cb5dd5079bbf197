import { addBusinessMinutes } from '../domain/business-time.ts';
import { DomainRuleError, NotFoundError } from '../domain/errors.ts';
import type { EventOf } from '../domain/events/index.ts';
import { type Org, settingsOf } from '../domain/org.ts';
import type { LeadStatus, MissedCallStatus } from '../domain/events/lead.ts';
import { leadEventIds, leadIdFor, requestedMessageId } from '../domain/ids.ts';
import {
  type AssigneeRef,
  type LeadAggregate,
  type LeadCommand,
  type LeadEvent,
  type LeadIdentity,
  type LeadState,
  type RequestedMessage,
  alreadyRecorded,
  decide,
  evolve,
  isOpen,
  leadStream,
} from '../domain/lead.ts';
import type { Position } from '../eventstore/port.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { execute, loadStream } from './execute.ts';
import { loadOrg } from './org-reads.ts';

/** The answer to a lead write. `duplicate`: the activity was already recorded (a provider retry). */
export interface LeadOutcome {
  readonly lead: LeadAggregate;
  readonly position: Position | null;
  readonly duplicate: boolean;
}

const load = (deps: Pick<CommandDeps, 'store'>, leadId: string) =>
  loadStream<LeadState, LeadEvent>(deps.store, leadStream(leadId), evolve, null);

/** Reads a lead of an org from its stream; another org's lead is NotFound like an absent one. */
export async function loadLead(deps: Pick<CommandDeps, 'store'>, orgId: string, leadId: string): Promise<LeadAggregate> {
  const { state } = await load(deps, leadId);
  if (!state || state.orgId !== orgId) throw new NotFoundError('lead not found');
  return state;
}

/** When the team's first response to a lead opened at `now` is due, and half-way there (business time). */
export function responseTarget(org: Org, now: string): { dueAt: string; halfAt: string } {
  const settings = settingsOf(org);
  const calendar = { businessHours: settings.businessHours, timezone: org.timezone, blackoutDates: settings.blackoutDates };
  return {
    dueAt: addBusinessMinutes(now, settings.responseTargetMinutes, calendar),
    halfAt: addBusinessMinutes(now, settings.responseTargetMinutes / 2, calendar),
  };
}

/** Inbound activity of a caller: what to record, and the key that makes a provider retry a no-op. */
type Activity = (lead: LeadIdentity, now: string) => LeadCommand;

/** Conflicts one lead write retries: a burst of texts from one caller lands on one stream at once. */
const HOT_LEAD_RETRIES = 25;

/** A lead decision's events with the deterministic ids of `key` (a retry of the same write appends nothing). */
const keyed = (orgId: string, events: LeadEvent[], key: string | undefined) => ({
  append: events,
  ...(key && { eventIds: leadEventIds(orgId, key, events.length) }),
});

/**
 * Records inbound activity (a missed call, a text) on the caller's open lead, opening one if needed.
 *
 * The caller's leads are `leadIdFor(org, caller, 0..n)`. Walking them in order:
 * - a lead that already holds this activity (same CallSid+status / MessageSid) ends the walk: duplicate;
 * - a lead followed by a newer one (`LeadSuperseded`) is skipped;
 * - a closed lead (won/lost) is marked superseded (expected revision) and the walk moves on;
 * - an open lead, or the first absent one, takes the activity (expected revision / `no_stream`).
 * An append conflict re-reads that lead and decides again (what changed is that lead: earlier ones are
 * superseded for good), so concurrent writers converge on one open lead per caller, and deterministic
 * event ids make identical concurrent requests collapse into one append.
 */
async function recordInbound(
  deps: CommandDeps,
  caller: CommandCaller,
  input: { callerPhone: string; businessPhone: string; dedupeKey: string; activity: Activity },
): Promise<LeadOutcome> {
  const { orgId } = caller;
  // Read only when a lead opens (its first-response target comes from the org's settings as they are now).
  let org: Org | null | undefined;
  const loadSettings = async () => {
    org = await loadOrg(deps, orgId, caller.orgSeen).catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
  };
  for (let generation = 0; ; generation++) {
    const leadId = leadIdFor(orgId, input.callerPhone, generation);
    const base: LeadIdentity = { leadId, orgId, callerPhone: input.callerPhone, businessPhone: input.businessPhone, generation };
    const identityAt = (now: string): LeadIdentity => (org ? { ...base, response: responseTarget(org, now) } : base);
    const result = await execute<LeadState, LeadEvent, LeadOutcome | 'superseded' | 'settings'>(deps, caller, {
      streamId: leadStream(leadId),
      evolve,
      initial: null,
      retries: HOT_LEAD_RETRIES,
      decide: ({ state, events }, now) => {
        const command = input.activity(identityAt(now.toISOString()), now.toISOString());
        if (state && alreadyRecorded(command, state)) return { done: { lead: state, position: events.at(-1)!.position, duplicate: true } };
        if (state?.supersededBy) return { done: 'superseded' };
        if (!state && org === undefined) return { done: 'settings' };
        if (state && !isOpen(state.status)) {
          const nextLeadId = leadIdFor(orgId, input.callerPhone, generation + 1);
          const superseded = decide({ type: 'SupersedeLead', now: now.toISOString(), data: { leadId, nextLeadId } }, state);
          return keyed(orgId, superseded, `lead-superseded\n${leadId}`);
        }
        return keyed(orgId, decide(command, state), input.dedupeKey);
      },
    });
    if (result.kind === 'done') {
      if (result.result === 'superseded') continue;
      if (result.result === 'settings') {
        // A new lead opens here: read the org's settings, then decide this generation again.
        await loadSettings();
        generation--;
        continue;
      }
      return result.result;
    }
    // This write superseded a closed lead: the activity goes to the next one.
    if (result.state?.supersededBy) continue;
    return { lead: result.state!, position: result.position, duplicate: result.duplicate || result.events.length === 0 };
  }
}

/** A missed call (Twilio CallSid + final status) from a caller to one of the org's numbers. */
export function recordMissedCall(
  deps: CommandDeps,
  caller: CommandCaller,
  call: { callSid: string; from: string; to: string; callStatus: MissedCallStatus; calledAt: string },
): Promise<LeadOutcome> {
  return recordInbound(deps, caller, {
    callerPhone: call.from,
    businessPhone: call.to,
    dedupeKey: `twilio-call\n${call.callSid}\n${call.callStatus}`,
    activity: (lead, now) => ({ type: 'RecordMissedCall', now, data: { lead, ...call } }),
  });
}

/** An inbound text (Twilio MessageSid) from a caller to one of the org's numbers. */
export function receiveInboundText(
  deps: CommandDeps,
  caller: CommandCaller,
  text: { messageSid: string; from: string; to: string; body: string; receivedAt: string; flag?: 'possible_opt_out' },
): Promise<LeadOutcome> {
  return recordInbound(deps, caller, {
    callerPhone: text.from,
    businessPhone: text.to,
    dedupeKey: `twilio-message\n${text.messageSid}`,
    activity: (lead, now) => ({ type: 'ReceiveInboundText', now, data: { lead, ...text } }),
  });
}

/** The caller's leads, oldest first (absent streams end the list). */
export async function leadsOfCaller(deps: Pick<CommandDeps, 'store'>, orgId: string, callerPhone: string): Promise<LeadAggregate[]> {
  const leads: LeadAggregate[] = [];
  for (let generation = 0; ; generation++) {
    const { state } = await load(deps, leadIdFor(orgId, callerPhone, generation));
    if (!state) return leads;
    leads.push(state);
  }
}

/** The caller's open lead, if any (the newest lead, when it is Active or Booked). */
export async function openLeadOf(deps: Pick<CommandDeps, 'store'>, orgId: string, callerPhone: string): Promise<LeadAggregate | undefined> {
  const latest = (await leadsOfCaller(deps, orgId, callerPhone)).at(-1);
  return latest && isOpen(latest.status) && !latest.supersededBy ? latest : undefined;
}

/** Runs one command on an existing lead of the caller's org, with deterministic event ids when keyed. */
async function onLead(
  deps: CommandDeps,
  caller: CommandCaller,
  leadId: string,
  command: (now: string, state: LeadAggregate) => LeadCommand,
  key?: string,
): Promise<LeadOutcome> {
  const result = await execute<LeadState, LeadEvent>(deps, caller, {
    streamId: leadStream(leadId),
    evolve,
    initial: null,
    decide: (loaded, now) => {
      if (!loaded.state || loaded.state.orgId !== caller.orgId) throw new NotFoundError('lead not found');
      return keyed(caller.orgId, decide(command(now.toISOString(), loaded.state), loaded.state), key);
    },
  });
  if (result.kind !== 'appended' || !result.state) throw new NotFoundError('lead not found');
  return { lead: result.state, position: result.position, duplicate: result.duplicate || result.events.length === 0 };
}

/** A team member moves a lead through its lifecycle; the same status again records nothing. */
export function changeLeadStatus(
  deps: CommandDeps,
  caller: CommandCaller,
  leadId: string,
  change: { to: LeadStatus; reason?: string },
): Promise<LeadOutcome> {
  return onLead(deps, caller, leadId, (now) => ({
    type: 'ChangeLeadStatus',
    now,
    data: { leadId, to: change.to, ...(change.reason !== undefined && { reason: change.reason }) },
  }));
}

/** Links a booking to a lead (an Active lead becomes Booked); linking the same booking again records nothing. */
export function linkBookingToLead(deps: CommandDeps, caller: CommandCaller, leadId: string, bookingId: string): Promise<LeadOutcome> {
  return onLead(deps, caller, leadId, (now) => ({ type: 'LinkBooking', now, data: { leadId, bookingId } }), `booking\n${bookingId}`);
}

/** Records an outbound text on a lead (a retry with the same message id records nothing). */
export function recordOutboundText(
  deps: CommandDeps,
  caller: CommandCaller,
  text: { leadId: string; messageId: string; to: string; body: string; kind: 'text_back' | 'manual'; sentAt: string },
): Promise<LeadOutcome> {
  return onLead(deps, caller, text.leadId, (now) => ({ type: 'RecordOutboundText', now, data: text }), `outbound\n${text.messageId}`);
}

/** The answer to a text request: the message as it stands, and whether this request added it. */
export interface MessageRequestOutcome extends LeadOutcome {
  readonly message: RequestedMessage;
}

/**
 * A team member asks to text the caller of a lead. Records `OutboundTextRequested` with a deterministic
 * message id and event id; the process manager queues the send (job key per message) and the job records
 * `OutboundTextSent` or `OutboundTextFailed`. The same clientMessageId again records nothing and answers
 * the same message; with a different body it is a conflict.
 */
export async function requestOutboundText(
  deps: CommandDeps,
  caller: CommandCaller,
  leadId: string,
  input: { body: string; clientMessageId: string; from?: string; replier?: AssigneeRef },
): Promise<MessageRequestOutcome> {
  const messageId = requestedMessageId(caller.orgId, leadId, input.clientMessageId);
  const data = { leadId, messageId, clientMessageId: input.clientMessageId, body: input.body, ...(input.from && { from: input.from }) };
  const outcome = await onLead(
    deps,
    caller,
    leadId,
    (now) => ({ type: 'RequestOutboundText', now, data, ...(input.replier && { replier: input.replier }) }),
    `reply-requested\n${messageId}`,
  );
  const message = outcome.lead.requested?.[messageId];
  if (!message) throw new NotFoundError('lead not found');
  return { ...outcome, message };
}

/**
 * Twilio's delivery report for one of our outbound messages. It lands on the caller's lead that holds
 * the message (or the caller's newest lead, when the report outruns our own record of the send);
 * a caller without leads is not ours: undefined, nothing recorded.
 */
export async function recordMessageStatus(
  deps: CommandDeps,
  caller: CommandCaller,
  report: { messageSid: string; to: string; status: string; errorCode?: string },
): Promise<LeadOutcome | undefined> {
  const leads = await leadsOfCaller(deps, caller.orgId, report.to);
  const lead = leads.find((l) => l.outboundMessageIds.includes(report.messageSid)) ?? leads.at(-1);
  if (!lead) return undefined;
  const data = {
    leadId: lead.id,
    messageSid: report.messageSid,
    status: report.status,
    ...(report.errorCode !== undefined && { errorCode: report.errorCode }),
  };
  return onLead(
    deps,
    caller,
    lead.id,
    (now) => ({ type: 'UpdateMessageDelivery', now, data }),
    `delivery\n${report.messageSid}\n${report.status}`,
  );
}

/** Roles that may own a lead (an auditor only reads the audit timeline). */
export const ASSIGNABLE_ROLES: readonly string[] = ['owner', 'admin', 'member'];

/**
 * Assigns a lead to a member of its org, or unassigns it (`memberId` null). The member is looked up in the
 * org stream (the write side): a member of another org, a removed member or an auditor is refused with a
 * clear reason and nothing is recorded. Assigning to the current assignee records nothing, so two tabs
 * assigning the same member at once record one `LeadAssigned` (the loser of the append re-decides).
 * Two tabs assigning different people: the one that lands second finds an assignee it did not see and is
 * refused (`assignee_changed`, 409) — against `expectedMemberId` when the asker says what it saw (the web
 * app does), else against what this request first read (the loser of a concurrent append).
 */
export async function assignLead(
  deps: CommandDeps,
  caller: CommandCaller,
  leadId: string,
  input: { memberId: string | null; reason?: 'manual' | 'round_robin'; expectedMemberId?: string | null },
): Promise<LeadOutcome> {
  let assignee: AssigneeRef | null = null;
  if (input.memberId !== null) {
    const org = await loadOrg(deps, caller.orgId, caller.orgSeen);
    const member = org.members.find((m) => m.memberId === input.memberId);
    if (!member) throw new DomainRuleError('memberId', `no current member of this org has id ${input.memberId}`);
    if (!ASSIGNABLE_ROLES.includes(member.role))
      throw new DomainRuleError('memberId', `${member.email} is an ${member.role}: leads go to owners, admins and members`);
    assignee = { memberId: member.memberId, label: member.email };
  }
  // What the first decision saw: a re-decision after a concurrent append must still find it.
  let firstSeen: { memberId: string | null } | undefined;
  return onLead(deps, caller, leadId, (now, state) => {
    firstSeen ??= { memberId: state.assignee?.memberId ?? null };
    const expected = input.expectedMemberId === undefined ? firstSeen.memberId : input.expectedMemberId;
    return { type: 'AssignLead', now, data: { leadId, assignee, expected, ...(input.reason && { reason: input.reason }) } };
  });
}

/** A member logs how a call-back went (`CallBackLogged`): the team's first response when it is the first. */
export function logCallBack(
  deps: CommandDeps,
  caller: CommandCaller,
  leadId: string,
  input: Omit<EventOf<'CallBackLogged'>['data'], 'leadId'>,
): Promise<LeadOutcome> {
  return onLead(deps, caller, leadId, (now) => ({ type: 'LogCallBack', now, data: { leadId, ...input } }));
}

/**
 * Records `LeadResponseOverdue` when the lead's first response is due and has not come. Recorded once,
 * whatever number of workers run it: the event id derives from the lead (an identical append collapses),
 * the append expects the revision it decided on (a concurrent one re-reads and decides again), and the
 * decision is empty once the event is on the stream.
 */
export function recordResponseOverdue(deps: CommandDeps, caller: CommandCaller, leadId: string): Promise<LeadOutcome> {
  return onLead(deps, caller, leadId, (now) => ({ type: 'RecordResponseOverdue', now, data: { leadId } }), `response-overdue\n${leadId}`);
}
