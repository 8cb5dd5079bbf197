import type { LeadEvent } from '../../domain/lead.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import type { Projection } from '../projection.ts';

/** What a timeline entry is about. */
export type TimelineKind =
  | 'missed_call'
  | 'inbound_text'
  | 'outbound_text'
  | 'outbound_text_sent'
  | 'outbound_text_failed'
  | 'text_back'
  | 'text_back_skipped'
  | 'text_back_failed'
  | 'text_deferred'
  | 'status_change'
  | 'booking'
  | 'assignment'
  | 'call_back'
  | 'response_overdue'
  | 'staff_alert';

type TimelineEvent = Extract<LeadEvent, { type: (typeof TIMELINE_TYPES)[number] }>;

/** Lead events that are entries of its timeline (opening, supersession and delivery reports are not). */
const TIMELINE_TYPES = [
  'MissedCallRecorded',
  'InboundTextReceived',
  'OutboundTextRecorded',
  'OutboundTextRequested',
  'OutboundTextSent',
  'OutboundTextFailed',
  'TextBackSent',
  'TextBackSkipped',
  'TextBackFailed',
  'LeadTextDeferred',
  'LeadStatusChanged',
  'LeadBookingLinked',
  'LeadAssigned',
  'LeadUnassigned',
  'CallBackLogged',
  'LeadResponseOverdue',
  'StaffAlerted',
] as const satisfies readonly LeadEvent['type'][];

const quote = (text: string) => `"${text.length > 80 ? `${text.slice(0, 79)}…` : text}"`;

/** Kind, one-line summary and outbound message id of a timeline event. */
function describe(event: TimelineEvent): { kind: TimelineKind; summary: string; messageId: string | null } {
  switch (event.type) {
    case 'MissedCallRecorded':
      return { kind: 'missed_call', summary: `missed call from ${event.data.from} (${event.data.callStatus})`, messageId: null };
    case 'InboundTextReceived':
      return {
        kind: 'inbound_text',
        summary: `text from ${event.data.from}${event.data.flag ? ' (possible opt-out: the team decides)' : ''}: ${quote(event.data.body)}`,
        messageId: null,
      };
    case 'OutboundTextRecorded':
      return { kind: 'outbound_text', summary: `text to ${event.data.to}: ${quote(event.data.body)}`, messageId: event.data.messageId };
    case 'OutboundTextRequested':
      return { kind: 'outbound_text', summary: `text to ${event.data.to}: ${quote(event.data.body)}`, messageId: null };
    case 'OutboundTextSent':
      return { kind: 'outbound_text_sent', summary: `text sent to ${event.data.to}`, messageId: event.data.providerMessageId };
    case 'OutboundTextFailed':
      return { kind: 'outbound_text_failed', summary: `text failed: ${event.data.error}`, messageId: null };
    case 'TextBackSent':
      return { kind: 'text_back', summary: `text-back to ${event.data.to}: ${quote(event.data.body)}`, messageId: event.data.messageId };
    case 'TextBackSkipped':
      return { kind: 'text_back_skipped', summary: `text-back skipped: ${event.data.reason}`, messageId: null };
    case 'TextBackFailed':
      return { kind: 'text_back_failed', summary: `text-back failed: ${event.data.error}`, messageId: null };
    case 'LeadTextDeferred':
      return {
        kind: 'text_deferred',
        summary: `${event.data.kind === 'text_back' ? 'text-back' : 'reply'} deferred to ${event.data.until}: ${event.data.reason}`,
        messageId: null,
      };
    case 'LeadStatusChanged':
      return {
        kind: 'status_change',
        summary: `status ${event.data.from} → ${event.data.to}${event.data.reason ? ` (${event.data.reason})` : ''}`,
        messageId: null,
      };
    case 'LeadBookingLinked':
      return { kind: 'booking', summary: `booking ${event.data.bookingId} linked`, messageId: null };
    case 'LeadAssigned':
      return {
        kind: 'assignment',
        summary: `assigned to ${event.data.label}${event.data.reason === 'reply' ? ' (replied first)' : event.data.reason === 'round_robin' ? ' (round robin)' : ''}`,
        messageId: null,
      };
    case 'LeadUnassigned':
      return { kind: 'assignment', summary: 'unassigned', messageId: null };
    case 'CallBackLogged':
      return {
        kind: 'call_back',
        summary: `called back: ${event.data.outcome.replace('_', ' ')}${event.data.note ? ` (${quote(event.data.note)})` : ''}`,
        messageId: null,
      };
    case 'LeadResponseOverdue':
      return { kind: 'response_overdue', summary: `no team response by ${event.data.dueAt}`, messageId: null };
    case 'StaffAlerted':
      return { kind: 'staff_alert', summary: `on-call phone ${event.data.phone} alerted by text`, messageId: null };
    default: {
      const unknown: never = event;
      throw new Error(`unexpected event ${JSON.stringify(unknown)}`);
    }
  }
}

/** `lead_timeline`: every call, text, booking and status change of a lead, with actor and time. */
export const leadTimelineProjection: Projection = {
  name: 'lead_timeline',
  filter: { streamPrefixes: ['lead-'], eventTypes: TIMELINE_TYPES },
  tables: ['lead_timeline'],
  async apply(q, events) {
    const values = timelineRows(events);
    if (!values.length) return;
    await q
      .insertInto('lead_timeline')
      .values(values)
      .onConflict((c) => c.columns(['lead_id', 'revision']).doNothing())
      .execute();
  },
  // Each event is one row keyed by its stream revision, and a rebuild reads each event once: nothing to replace.
  async fold(_q, events) {
    return [{ table: 'lead_timeline', rows: timelineRows(events) }];
  },
};

/** One timeline row per event. */
function timelineRows(events: readonly RecordedEvent[]) {
  return (events as RecordedEvent<TimelineEvent>[]).map((event) => {
    const { kind, summary, messageId } = describe(event);
    const { leadId, ...details } = event.data;
    return {
      lead_id: leadId,
      revision: event.revision,
      org_id: event.metadata.orgId,
      event_id: event.id,
      event_type: event.type,
      kind,
      occurred_at: event.metadata.occurredAt,
      actor: JSON.stringify(event.metadata.actor),
      summary,
      details: JSON.stringify(details),
      message_id: messageId,
    };
  });
}
