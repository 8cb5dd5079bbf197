import { NotFoundError } from '../domain/errors.ts';
import type { LeadStatus, MissedCallStatus } from '../domain/events/lead.ts';
import { leadEventIds, leadIdFor, requestedMessageId } from '../domain/ids.ts';
import {
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
import { type Position, WrongExpectedRevisionError } from '../eventstore/port.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { ConcurrencyConflictError } from './errors.ts';
import { type LoadedStream, execute, loadStream, metadataFor } from './execute.ts';

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

/** Inbound activity of a caller: what to record, and the key that makes a provider retry a no-op. */
type Activity = (lead: LeadIdentity, now: string) => LeadCommand;

const MAX_ATTEMPTS = 25;

/**
 * Records inbound activity (a missed call, a text) on the caller's open lead, opening one if needed.
 *
 * The caller's leads are `leadIdFor(org, caller, 0..n)`. Walking them in order:
 * - a lead that already holds this activity (same CallSid+status / MessageSid) ends the walk: duplicate;
 * - a lead followed by a newer one (`LeadSuperseded`) is skipped;
 * - a closed lead (won/lost) is marked superseded (expected revision) and the walk moves on;
 * - an open lead, or the first absent one, takes the activity (expected revision / `no_stream`).
 * Any append conflict restarts the walk, so concurrent writers converge on one open lead per caller,
 * and deterministic event ids make identical concurrent requests collapse into one append.
 */
async function recordInbound(
  deps: CommandDeps,
  caller: CommandCaller,
  input: { callerPhone: string; businessPhone: string; dedupeKey: string; activity: Activity },
): Promise<LeadOutcome> {
  const { orgId } = caller;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      for (let generation = 0; ; generation++) {
        const leadId = leadIdFor(orgId, input.callerPhone, generation);
        const loaded = await load(deps, leadId);
        const identity: LeadIdentity = { leadId, orgId, callerPhone: input.callerPhone, businessPhone: input.businessPhone, generation };
        const now = deps.clock();
        const command = input.activity(identity, now.toISOString());
        const state = loaded.state;
        if (state && alreadyRecorded(command, state)) return { lead: state, position: loaded.events.at(-1)!.position, duplicate: true };
        if (state?.supersededBy) continue;
        if (state && !isOpen(state.status)) {
          const nextLeadId = leadIdFor(orgId, input.callerPhone, generation + 1);
          await appendDecided(deps, caller, loaded, { type: 'SupersedeLead', now: now.toISOString(), data: { leadId, nextLeadId } }, now, `lead-superseded\n${leadId}`);
          continue;
        }
        const appended = await appendDecided(deps, caller, loaded, command, now, input.dedupeKey);
        return { lead: appended.state, position: appended.position, duplicate: appended.duplicate };
      }
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
    }
  }
  throw new ConcurrencyConflictError(`the leads of ${input.callerPhone} kept changing; try again`);
}

/** Decides on a loaded lead and appends at its revision with deterministic event ids; conflicts propagate. */
async function appendDecided(
  deps: CommandDeps,
  caller: CommandCaller,
  loaded: LoadedStream<LeadState, LeadEvent>,
  command: LeadCommand,
  now: Date,
  key: string,
): Promise<{ state: LeadAggregate; position: Position; duplicate: boolean }> {
  const events = decide(command, loaded.state);
  const state = events.reduce<LeadState>((s, e) => evolve(s, { ...e, occurredAt: now.toISOString() }), loaded.state)!;
  if (!events.length) return { state, position: loaded.events.at(-1)!.position, duplicate: true };
  const metadata = metadataFor(caller, now);
  const ids = leadEventIds(caller.orgId, key, events.length);
  const result = await deps.store.append(
    leadStream(state.id),
    events.map((event, i) => ({ id: ids[i]!, type: event.type, data: event.data, metadata })),
    { expectedRevision: loaded.revision === -1 ? 'no_stream' : loaded.revision },
  );
  return { state, position: result.position, duplicate: result.duplicate };
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
  text: { messageSid: string; from: string; to: string; body: string; receivedAt: string },
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
  command: (now: string) => LeadCommand,
  key?: string,
): Promise<LeadOutcome> {
  const result = await execute<LeadState, LeadEvent>(deps, caller, {
    streamId: leadStream(leadId),
    evolve,
    initial: null,
    decide: (loaded, now) => {
      if (!loaded.state || loaded.state.orgId !== caller.orgId) throw new NotFoundError('lead not found');
      const events = decide(command(now.toISOString()), loaded.state);
      return { append: events, ...(key && { eventIds: leadEventIds(caller.orgId, key, events.length) }) };
    },
  });
  if (result.kind !== 'appended' || !result.state) throw new NotFoundError('lead not found');
  return { lead: result.state, position: result.position, duplicate: result.events.length === 0 };
}

/** A team member moves a lead through its lifecycle; the same status again records nothing. */
export function changeLeadStatus(deps: CommandDeps, caller: CommandCaller, leadId: string, change: { to: LeadStatus; reason?: string }): Promise<LeadOutcome> {
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
  input: { body: string; clientMessageId: string; from?: string },
): Promise<MessageRequestOutcome> {
  const messageId = requestedMessageId(caller.orgId, leadId, input.clientMessageId);
  const data = { leadId, messageId, clientMessageId: input.clientMessageId, body: input.body, ...(input.from && { from: input.from }) };
  const outcome = await onLead(deps, caller, leadId, (now) => ({ type: 'RequestOutboundText', now, data }), `reply-requested\n${messageId}`);
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
  const data = { leadId: lead.id, messageSid: report.messageSid, status: report.status, ...(report.errorCode !== undefined && { errorCode: report.errorCode }) };
  return onLead(deps, caller, lead.id, (now) => ({ type: 'UpdateMessageDelivery', now, data }), `delivery\n${report.messageSid}\n${report.status}`);
}
