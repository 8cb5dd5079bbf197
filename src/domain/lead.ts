import type { EventOf } from './events/index.ts';
import type { LeadStatus, MissedCallStatus } from './events/lead.ts';
import type { Envelope } from './envelope.ts';
import { NotFoundError, StateConflictError } from './errors.ts';

/** Lead stream name. */
export const leadStream = (leadId: string) => `lead-${leadId}`;

/** A lead as the internal API shows it. */
export interface Lead {
  id: string;
  orgId: string;
  status: LeadStatus;
  callerPhone: string;
  businessPhone?: string;
  source: EventOf<'LeadOpened'>['data']['source'];
  /** 0 for a caller's first lead, then 1, 2, ... (a closed lead with new activity is followed by the next). */
  generation: number;
  /** The caller's next lead, once this closed lead was followed by new activity. */
  supersededBy?: string;
  counts: { missedCalls: number; inboundTexts: number; outboundTexts: number; bookings: number };
  bookingIds: string[];
  lastActivityAt: string;
  /** When the caller last called or texted (missed call, inbound text). */
  lastInboundAt?: string;
  /**
   * The caller's last contact while nobody from the team has answered it: set by a missed call or a text
   * from them, cleared by a text a team member sends (the automatic text-back is not an answer), by a
   * booking, and when the lead closes (won, lost). Null: we spoke last, or nothing to answer.
   */
  waitingSince?: string | null;
  /** When the team's first response is due (business time), half-way there, and when it came (CONTRACT §10). */
  firstResponseDueAt?: string | null;
  firstResponseHalfAt?: string | null;
  firstRespondedAt?: string | null;
  /** The first response came late, or has not come by its due time. */
  responseBreached?: boolean;
  /** When `LeadResponseOverdue` was recorded. */
  responseOverdueAt?: string;
  /** The team member who owns the lead (CONTRACT §10), or null: nobody yet. */
  assignee?: Assignee | null;
  /** Lifecycle timestamps: each set the first time the status is reached, never moved. */
  activeAt?: string;
  bookedAt?: string;
  wonAt?: string;
  lostAt?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Who owns a lead, and since when. */
export interface Assignee {
  memberId: string;
  /** The member's email when assigned. */
  label: string;
  since: string;
}

/** A member as an assignment names them. */
export interface AssigneeRef {
  memberId: string;
  label: string;
}

/** Delivery state of one outbound message, as Twilio last reported it. */
export interface Delivery {
  status: string;
  errorCode?: string;
}

/** Where a text a team member asked for stands. */
export interface RequestedMessage {
  messageId: string;
  clientMessageId: string;
  to: string;
  body: string;
  state: 'queued' | 'sent' | 'failed';
  requestedAt: string;
  providerMessageId?: string;
  sentAt?: string;
  error?: string;
}

/** The aggregate: the lead plus what `decide` needs to recognise a provider retry. */
export interface LeadAggregate extends Lead {
  /** `<CallSid>:<status>` of every recorded missed call. */
  callKeys: string[];
  /** MessageSids of inbound texts. */
  inboundMessageSids: string[];
  /** Ids of outbound messages (text-backs and manual texts). */
  outboundMessageIds: string[];
  /** Latest delivery state per outbound message id (never moves back, e.g. `sent` after `delivered`). */
  deliveries: Record<string, Delivery>;
  /** `<MessageSid>:<status>` of every delivery report recorded. */
  deliveryKeys: string[];
  /** Texts team members asked for, by message id (a repeated request finds its message here). */
  requested?: Record<string, RequestedMessage>;
}

export type LeadState = LeadAggregate | null;

/** Events of the lead stream. */
export type LeadEvent = EventOf<
  | 'LeadOpened'
  | 'MissedCallRecorded'
  | 'InboundTextReceived'
  | 'OutboundTextRecorded'
  | 'OutboundTextRequested'
  | 'OutboundTextSent'
  | 'OutboundTextFailed'
  | 'TextBackSent'
  | 'TextBackSkipped'
  | 'TextBackFailed'
  | 'MessageDeliveryUpdated'
  | 'LeadStatusChanged'
  | 'LeadBookingLinked'
  | 'LeadSuperseded'
  | 'LeadTextDeferred'
  | 'LeadAssigned'
  | 'LeadUnassigned'
  | 'CallBackLogged'
  | 'LeadResponseOverdue'
  | 'StaffAlerted'
>;

/** Who a lead is for: enough to open it when the stream does not exist yet. */
export interface LeadIdentity {
  leadId: string;
  orgId: string;
  callerPhone: string;
  businessPhone?: string;
  generation: number;
  /** The first-response target of a new lead (computed by the caller from the org's settings). */
  response?: { dueAt: string; halfAt: string };
}

/** Commands on a lead; `now` is the caller's clock. */
export type LeadCommand =
  | {
      type: 'RecordMissedCall';
      now: string;
      data: { lead: LeadIdentity; callSid: string; from: string; to: string; callStatus: MissedCallStatus; calledAt: string };
    }
  | {
      type: 'ReceiveInboundText';
      now: string;
      data: {
        lead: LeadIdentity;
        messageSid: string;
        from: string;
        to: string;
        body: string;
        receivedAt: string;
        flag?: 'possible_opt_out';
      };
    }
  | { type: 'RecordOutboundText'; now: string; data: EventOf<'OutboundTextRecorded'>['data'] }
  | {
      type: 'RequestOutboundText';
      now: string;
      data: Omit<EventOf<'OutboundTextRequested'>['data'], 'to'>;
      /** The member replying: an unassigned lead becomes theirs (CONTRACT §10). */
      replier?: AssigneeRef;
    }
  | {
      type: 'AssignLead';
      now: string;
      /**
       * `expected`: the assignee the asker saw (a member id, or null: nobody). When the lead has another
       * one by now, the assignment is refused (`assignee_changed`) instead of silently overriding it.
       */
      data: { leadId: string; assignee: AssigneeRef | null; reason?: 'manual' | 'round_robin'; expected?: string | null };
    }
  | { type: 'LogCallBack'; now: string; data: EventOf<'CallBackLogged'>['data'] }
  | { type: 'RecordResponseOverdue'; now: string; data: { leadId: string } }
  | { type: 'UpdateMessageDelivery'; now: string; data: EventOf<'MessageDeliveryUpdated'>['data'] }
  | { type: 'ChangeLeadStatus'; now: string; data: { leadId: string; to: LeadStatus; reason?: string } }
  | { type: 'LinkBooking'; now: string; data: { leadId: string; bookingId: string } }
  | { type: 'SupersedeLead'; now: string; data: { leadId: string; nextLeadId: string } };

/** Statuses a lead may move to from each status. Won and Lost close a lead; moving to Active reopens it. */
export const LEAD_TRANSITIONS: { readonly [S in LeadStatus]: readonly LeadStatus[] } = {
  active: ['booked', 'won', 'lost'],
  booked: ['active', 'won', 'lost'],
  won: ['active', 'lost'],
  lost: ['active', 'won'],
};

/** Open leads take new calls and texts; closed ones hand them to the caller's next lead. */
export function isOpen(status: LeadStatus): boolean {
  return status === 'active' || status === 'booked';
}

/** Dedupe key of a missed call: a provider retry repeats both. */
export const callKey = (callSid: string, callStatus: string) => `${callSid}:${callStatus}`;

/** Dedupe key of a delivery report: Twilio reports each status of a message once (and retries it). */
export const deliveryKey = (messageSid: string, status: string) => `${messageSid}:${status}`;

/** Order of Twilio message statuses; a late report of an earlier one does not move the state back. */
const DELIVERY_RANK: Readonly<Record<string, number>> = {
  accepted: 0,
  scheduled: 0,
  queued: 1,
  sending: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  canceled: 4,
  read: 5,
};
const rank = (status: string) => DELIVERY_RANK[status] ?? 0;

/** True when the lead already holds this provider activity, i.e. the command is a provider retry. */
export function alreadyRecorded(command: LeadCommand, state: LeadState): boolean {
  if (!state) return false;
  switch (command.type) {
    case 'RecordMissedCall':
      return state.callKeys.includes(callKey(command.data.callSid, command.data.callStatus));
    case 'ReceiveInboundText':
      return state.inboundMessageSids.includes(command.data.messageSid);
    case 'RecordOutboundText':
      return state.outboundMessageIds.includes(command.data.messageId);
    case 'UpdateMessageDelivery':
      return state.deliveryKeys.includes(deliveryKey(command.data.messageSid, command.data.status));
    case 'LinkBooking':
      return state.bookingIds.includes(command.data.bookingId);
    case 'RequestOutboundText':
      return state.requested?.[command.data.messageId] !== undefined;
    default:
      return false;
  }
}

const CLOSED = 'lead_closed';
const CONFLICT = 'lead_state_conflict';

function opened(lead: LeadIdentity, source: EventOf<'LeadOpened'>['data']['source']): EventOf<'LeadOpened'> {
  return {
    type: 'LeadOpened',
    data: {
      leadId: lead.leadId,
      orgId: lead.orgId,
      callerPhone: lead.callerPhone,
      ...(lead.businessPhone !== undefined && { businessPhone: lead.businessPhone }),
      generation: lead.generation,
      source,
      ...(lead.response && { firstResponseDueAt: lead.response.dueAt, firstResponseHalfAt: lead.response.halfAt }),
    },
  };
}

/** New inbound activity: opens the lead if needed; a closed lead refuses (the caller's next lead takes it). */
function inbound(state: LeadState, lead: LeadIdentity, source: 'missed_call' | 'inbound_text', event: LeadEvent): LeadEvent[] {
  if (!state) return [opened(lead, source), event];
  if (!isOpen(state.status))
    throw new StateConflictError(CLOSED, `lead ${state.id} is ${state.status}; new activity opens the caller's next lead`);
  return [event];
}

/** Decides which events a command produces; throws on a state conflict. A provider retry produces none. */
export function decide(command: LeadCommand, state: LeadState): LeadEvent[] {
  switch (command.type) {
    case 'RecordMissedCall': {
      const { lead, ...call } = command.data;
      if (alreadyRecorded(command, state)) return [];
      return inbound(state, lead, 'missed_call', { type: 'MissedCallRecorded', data: { leadId: lead.leadId, ...call } });
    }
    case 'ReceiveInboundText': {
      const { lead, ...text } = command.data;
      if (alreadyRecorded(command, state)) return [];
      return inbound(state, lead, 'inbound_text', { type: 'InboundTextReceived', data: { leadId: lead.leadId, ...text } });
    }
    case 'RecordOutboundText': {
      if (!state) throw new NotFoundError('lead not found');
      if (alreadyRecorded(command, state)) return [];
      return [{ type: 'OutboundTextRecorded', data: command.data }];
    }
    case 'RequestOutboundText': {
      if (!state) throw new NotFoundError('lead not found');
      const existing = state.requested?.[command.data.messageId];
      if (existing) {
        if (existing.body !== command.data.body) {
          throw new StateConflictError(
            'client_message_id_reused',
            `clientMessageId ${command.data.clientMessageId} already sent a different text`,
          );
        }
        return [];
      }
      const events: LeadEvent[] = [{ type: 'OutboundTextRequested', data: { ...command.data, to: state.callerPhone } }];
      const { replier } = command;
      if (replier && !state.assignee)
        events.push({
          type: 'LeadAssigned',
          data: { leadId: state.id, memberId: replier.memberId, label: replier.label, reason: 'reply' },
        });
      return events;
    }
    case 'LogCallBack': {
      if (!state) throw new NotFoundError('lead not found');
      return [{ type: 'CallBackLogged', data: command.data }];
    }
    case 'RecordResponseOverdue': {
      if (!state) throw new NotFoundError('lead not found');
      const due = state.firstResponseDueAt;
      // Once; never for a lead answered, closed, or without a target; never before it is due.
      if (!due || state.firstRespondedAt || state.responseOverdueAt || !isOpen(state.status)) return [];
      if (Date.parse(command.now) < Date.parse(due)) return [];
      return [{ type: 'LeadResponseOverdue', data: { leadId: state.id, dueAt: due } }];
    }
    case 'AssignLead': {
      if (!state) throw new NotFoundError('lead not found');
      const { leadId, assignee, reason = 'manual', expected } = command.data;
      const current = state.assignee ?? null;
      if ((current?.memberId ?? null) === (assignee?.memberId ?? null)) return [];
      if (expected !== undefined && (current?.memberId ?? null) !== expected) {
        throw new StateConflictError(
          'assignee_changed',
          current
            ? `this lead was just assigned to ${current.label} (member ${current.memberId}); nothing was changed: reload, then assign again if you still mean to`
            : 'this lead was just unassigned; nothing was changed: reload, then assign again if you still mean to',
        );
      }
      if (!assignee) return current ? [{ type: 'LeadUnassigned', data: { leadId, previousMemberId: current.memberId } }] : [];
      return [
        {
          type: 'LeadAssigned',
          data: {
            leadId,
            memberId: assignee.memberId,
            label: assignee.label,
            ...(current && { previousMemberId: current.memberId }),
            reason,
          },
        },
      ];
    }
    case 'UpdateMessageDelivery': {
      if (!state) throw new NotFoundError('lead not found');
      if (alreadyRecorded(command, state)) return [];
      return [{ type: 'MessageDeliveryUpdated', data: command.data }];
    }
    case 'ChangeLeadStatus': {
      if (!state) throw new NotFoundError('lead not found');
      const { leadId, to, reason } = command.data;
      if (state.status === to) return [];
      if (!LEAD_TRANSITIONS[state.status].includes(to)) {
        throw new StateConflictError(CONFLICT, `a ${state.status} lead cannot move to ${to}; reopen it (active) first`);
      }
      if (state.supersededBy && isOpen(to)) {
        throw new StateConflictError(CONFLICT, `a newer lead (${state.supersededBy}) is open for this caller; this lead stays closed`);
      }
      return [{ type: 'LeadStatusChanged', data: { leadId, from: state.status, to, ...(reason !== undefined && { reason }) } }];
    }
    case 'LinkBooking': {
      if (!state) throw new NotFoundError('lead not found');
      const { leadId, bookingId } = command.data;
      if (alreadyRecorded(command, state)) return [];
      const events: LeadEvent[] = [{ type: 'LeadBookingLinked', data: { leadId, bookingId } }];
      if (state.status === 'active')
        events.push({ type: 'LeadStatusChanged', data: { leadId, from: 'active', to: 'booked', reason: `booking ${bookingId}` } });
      return events;
    }
    case 'SupersedeLead': {
      if (!state) throw new NotFoundError('lead not found');
      if (state.supersededBy === command.data.nextLeadId) return [];
      if (state.supersededBy) throw new StateConflictError(CONFLICT, `lead ${state.id} is already followed by ${state.supersededBy}`);
      if (isOpen(state.status))
        throw new StateConflictError(CONFLICT, `lead ${state.id} is ${state.status}; only a closed lead is followed by a new one`);
      return [{ type: 'LeadSuperseded', data: command.data }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

const STATUS_AT = { active: 'activeAt', booked: 'bookedAt', won: 'wonAt', lost: 'lostAt' } as const;

/** Folds one event into the state. */
export function evolve(state: LeadState, event: Envelope<LeadEvent>): LeadState {
  const at = event.occurredAt;
  if (event.type === 'LeadOpened') {
    const { leadId, orgId, callerPhone, businessPhone, generation, source, firstResponseDueAt, firstResponseHalfAt } = event.data;
    return {
      id: leadId,
      orgId,
      status: 'active',
      callerPhone,
      ...(businessPhone !== undefined && { businessPhone }),
      source,
      generation,
      ...(firstResponseDueAt && { firstResponseDueAt }),
      ...(firstResponseHalfAt && { firstResponseHalfAt }),
      counts: { missedCalls: 0, inboundTexts: 0, outboundTexts: 0, bookings: 0 },
      bookingIds: [],
      lastActivityAt: at,
      activeAt: at,
      createdAt: at,
      updatedAt: at,
      version: 1,
      callKeys: [],
      inboundMessageSids: [],
      outboundMessageIds: [],
      deliveries: {},
      deliveryKeys: [],
    };
  }
  if (!state) return state;
  const next = { ...state, updatedAt: at, version: state.version + 1 };
  const touched = { ...next, lastActivityAt: at };
  const counts = (change: Partial<Lead['counts']>) => ({ ...state.counts, ...change });
  // The caller spoke: waiting since now (open leads only); a team member's text answers them.
  const heard = { ...touched, lastInboundAt: at, waitingSince: isOpen(state.status) ? at : null };
  const answered = { ...touched, waitingSince: null };
  // The team's first response (a member's text or logged call-back; the automatic text-back is not one).
  const responded: Partial<LeadAggregate> = state.firstRespondedAt
    ? {}
    : {
        firstRespondedAt: at,
        ...(state.firstResponseDueAt && Date.parse(at) > Date.parse(state.firstResponseDueAt) && { responseBreached: true }),
      };
  const requested = (messageId: string, change: Partial<RequestedMessage>) => {
    const current = state.requested?.[messageId];
    return current ? { ...state.requested, [messageId]: { ...current, ...change } } : state.requested;
  };
  switch (event.type) {
    case 'MissedCallRecorded':
      return {
        ...heard,
        counts: counts({ missedCalls: state.counts.missedCalls + 1 }),
        callKeys: [...state.callKeys, callKey(event.data.callSid, event.data.callStatus)],
      };
    case 'InboundTextReceived':
      return {
        ...heard,
        counts: counts({ inboundTexts: state.counts.inboundTexts + 1 }),
        inboundMessageSids: [...state.inboundMessageSids, event.data.messageSid],
      };
    case 'OutboundTextRecorded':
    case 'TextBackSent':
      return {
        ...(event.type === 'OutboundTextRecorded' && event.data.kind === 'manual' ? { ...answered, ...responded } : touched),
        counts: counts({ outboundTexts: state.counts.outboundTexts + 1 }),
        outboundMessageIds: [...state.outboundMessageIds, event.data.messageId],
      };
    case 'OutboundTextRequested': {
      const { messageId, clientMessageId, to, body } = event.data;
      const message: RequestedMessage = { messageId, clientMessageId, to, body, state: 'queued', requestedAt: at };
      return { ...answered, ...responded, requested: { ...state.requested, [messageId]: message } };
    }
    case 'OutboundTextSent': {
      const { messageId, providerMessageId, sentAt } = event.data;
      return {
        ...touched,
        counts: counts({ outboundTexts: state.counts.outboundTexts + 1 }),
        outboundMessageIds: [...state.outboundMessageIds, providerMessageId],
        requested: requested(messageId, { state: 'sent', providerMessageId, sentAt }),
      };
    }
    case 'OutboundTextFailed':
      return { ...next, requested: requested(event.data.messageId, { state: 'failed', error: event.data.error }) };
    case 'TextBackSkipped':
    case 'TextBackFailed':
      return next;
    case 'MessageDeliveryUpdated': {
      const { messageSid, status, errorCode } = event.data;
      const current = state.deliveries[messageSid];
      const deliveryKeys = [...state.deliveryKeys, deliveryKey(messageSid, status)];
      if (current && rank(status) < rank(current.status)) return { ...next, deliveryKeys };
      return {
        ...next,
        deliveryKeys,
        deliveries: { ...state.deliveries, [messageSid]: { status, ...(errorCode !== undefined && { errorCode }) } },
      };
    }
    case 'LeadStatusChanged': {
      const key = STATUS_AT[event.data.to];
      return {
        ...touched,
        status: event.data.to,
        ...(!isOpen(event.data.to) && { waitingSince: null }),
        ...(state[key] === undefined && { [key]: at }),
      };
    }
    case 'LeadBookingLinked':
      return {
        ...answered,
        counts: counts({ bookings: state.counts.bookings + 1 }),
        bookingIds: [...state.bookingIds, event.data.bookingId],
      };
    case 'LeadSuperseded':
      return { ...next, supersededBy: event.data.nextLeadId };
    case 'LeadTextDeferred':
      return next;
    case 'LeadAssigned':
      return { ...next, assignee: { memberId: event.data.memberId, label: event.data.label, since: at } };
    case 'LeadUnassigned':
      return { ...next, assignee: null };
    case 'CallBackLogged':
      // Reaching the caller answers them; a voicemail or no answer leaves them waiting.
      return { ...(event.data.outcome === 'reached' ? answered : touched), ...responded };
    case 'LeadResponseOverdue':
      return { ...next, responseBreached: true, responseOverdueAt: at };
    // An alert to the team is not activity of the lead's caller.
    case 'StaffAlerted':
      return next;
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
}

/** Folds a stream's events from nothing. */
export function foldLead(events: readonly Envelope<LeadEvent>[]): LeadState {
  return events.reduce<LeadState>(evolve, null);
}

/** The API view of the aggregate (dedupe bookkeeping left out). */
export function toLeadView(state: LeadAggregate): Lead {
  const { callKeys: _c, inboundMessageSids: _i, outboundMessageIds: _o, deliveries: _d, deliveryKeys: _k, requested: _r, ...lead } = state;
  return {
    ...lead,
    waitingSince: lead.waitingSince ?? null,
    assignee: lead.assignee ?? null,
    firstResponseDueAt: lead.firstResponseDueAt ?? null,
    firstResponseHalfAt: lead.firstResponseHalfAt ?? null,
    firstRespondedAt: lead.firstRespondedAt ?? null,
    responseBreached: lead.responseBreached ?? false,
  };
}
