import type { DomainEvent } from '../../domain/events/index.ts';
import type { LeadEvent } from '../../domain/lead.ts';
import { summarize } from '../../domain/summary.ts';
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
  | 'response_overdue';

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
] as const satisfies readonly LeadEvent['type'][];

/** Kind and outbound message id of a timeline event (its one-line summary is `summarize`'s, as on the audit timeline). */
function describe(event: RecordedEvent<TimelineEvent>): { kind: TimelineKind; messageId: string | null } {
  switch (event.type) {
    case 'MissedCallRecorded':
      return { kind: 'missed_call', messageId: null };
    case 'InboundTextReceived':
      return { kind: 'inbound_text', messageId: null };
    case 'OutboundTextRecorded':
      return { kind: 'outbound_text', messageId: event.data.messageId };
    case 'OutboundTextRequested':
      return { kind: 'outbound_text', messageId: null };
    case 'OutboundTextSent':
      return { kind: 'outbound_text_sent', messageId: event.data.providerMessageId };
    case 'OutboundTextFailed':
      return { kind: 'outbound_text_failed', messageId: null };
    case 'TextBackSent':
      return { kind: 'text_back', messageId: event.data.messageId };
    case 'TextBackSkipped':
      return { kind: 'text_back_skipped', messageId: null };
    case 'TextBackFailed':
      return { kind: 'text_back_failed', messageId: null };
    case 'LeadTextDeferred':
      return { kind: 'text_deferred', messageId: null };
    case 'LeadStatusChanged':
      return { kind: 'status_change', messageId: null };
    case 'LeadBookingLinked':
      return { kind: 'booking', messageId: null };
    case 'LeadAssigned':
    case 'LeadUnassigned':
      return { kind: 'assignment', messageId: null };
    case 'CallBackLogged':
      return { kind: 'call_back', messageId: null };
    case 'LeadResponseOverdue':
      return { kind: 'response_overdue', messageId: null };
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
    const { kind, messageId } = describe(event);
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
      summary: summarize({ type: event.type, data: event.data } as DomainEvent),
      details: JSON.stringify(details),
      message_id: messageId,
    };
  });
}
