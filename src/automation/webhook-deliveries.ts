import { sql } from 'kysely';
import { type BookingEvent, type BookingState, evolve as evolveBooking } from '../domain/booking.ts';
import { type ConsentEvent, type ConsentState, consentStream, consentView, evolve as evolveConsent } from '../domain/consent.ts';
import { consentIdFor, leadIdFor, webhookMessageId } from '../domain/ids.ts';
import { type LeadAggregate, type LeadEvent, type LeadState, evolve as evolveLead, leadStream, toLeadView } from '../domain/lead.ts';
import { WEBHOOK_TYPE_OF, type WebhookSourceEvent } from '../domain/webhook-endpoints.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import type { EventFilter, Position, RecordedEvent } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import type { Subscriber, SubscriberDeps } from '../subscriptions/subscriber.ts';
import { type DeliveryQueueKey, queueDeliveryJobs } from '../commands/webhook-endpoints.ts';

/** Checkpoint row of this reactor in `projection_checkpoints` (seeded at the store's head by migration 019). */
export const WEBHOOK_DELIVERIES = 'reactor:webhook-deliveries';

const FILTER: EventFilter = {
  streamPrefixes: ['booking-', 'lead-', 'consent-'],
  eventTypes: Object.keys(WEBHOOK_TYPE_OF) as WebhookSourceEvent[],
};

/** What one event becomes for every endpoint that wants it. */
interface Message {
  readonly type: string;
  /** The stream the delivery is about: deliveries of one resource are sent in log order. */
  readonly resource: string;
  /** `{type, timestamp, data}`: `data` is the resource as the API returns it, as of this event. */
  readonly body: string;
}

/** The events of `events` recorded at or before `position`. */
const upToPosition = (events: readonly RecordedEvent[], position: Position) =>
  events.filter((e) => comparePositions(e.position, position) <= 0);

/** A contact's consent as `consentView` shows it, from its stream's events (already cut at the moment wanted). */
const consentOf = (events: readonly RecordedEvent[]) =>
  consentView(events.reduce<ConsentState>((s, e) => evolveConsent(s, toEnvelope(e as RecordedEvent<ConsentEvent>)), null));

/** The lead as the internal API returns it: the lead and the caller's consent (CONTRACT §8). */
const leadData = (lead: LeadAggregate, consentEvents: readonly RecordedEvent[]) => ({
  ...toLeadView(lead),
  consent: consentOf(consentEvents),
});

const foldLead = (events: readonly RecordedEvent[]) =>
  events.reduce<LeadState>((s, e) => evolveLead(s, toEnvelope(e as RecordedEvent<LeadEvent>)), null);

/** The resource as of `event` (its stream folded up to it), in the shape the API returns. */
async function messagesOf(deps: SubscriberDeps, events: readonly RecordedEvent[]): Promise<Map<string, Message>> {
  const messages = new Map<string, Message>();
  // Most orgs have no endpoint: their events cost one query per batch, not a stream read each. An endpoint
  // added after this query is created after these events were recorded, so it would not get them anyway.
  const orgIds = [...new Set(events.map((e) => e.metadata.orgId))];
  if (orgIds.length === 0) return messages;
  const listening = new Set(
    (
      await deps.db
        .selectFrom('webhook_endpoints')
        .select('org_id')
        .distinct()
        .where('org_id', 'in', orgIds)
        .where('status', '=', 'active')
        .execute()
    ).map((r) => r.org_id),
  );
  const streams = new Map<string, Promise<RecordedEvent[]>>();
  const streamOf = (id: string) => {
    let read = streams.get(id);
    if (!read) streams.set(id, (read = deps.store.readStream(id)));
    return read;
  };
  const consentStreamOf = (orgId: string, phone: string) => streamOf(consentStream(consentIdFor(orgId, phone)));
  for (const event of events) {
    const { orgId } = event.metadata;
    if (!listening.has(orgId)) continue;
    const type = WEBHOOK_TYPE_OF[event.type as WebhookSourceEvent];
    let resource = event.streamId;
    let data: unknown;
    if (event.streamId.startsWith('booking-')) {
      const upTo = (await streamOf(event.streamId)).filter((e) => e.revision <= event.revision);
      data = upTo.reduce<BookingState>((s, e) => evolveBooking(s, toEnvelope(e as RecordedEvent<BookingEvent>)), null);
    } else if (event.streamId.startsWith('lead-')) {
      const lead = foldLead((await streamOf(event.streamId)).filter((e) => e.revision <= event.revision));
      data = lead && leadData(lead, upToPosition(await consentStreamOf(orgId, lead.callerPhone), event.position));
    } else {
      // An opt-out is about the caller's newest lead as of it (the lead its STOP text, or the reply a member
      // recorded it on, landed on); a number with no lead yet (e.g. a booking's customer the carrier
      // reported unsubscribed) has no lead resource to send.
      const { phone } = (event as RecordedEvent<ConsentEvent>).data;
      let lead: LeadState = null;
      for (let generation = 0; ; generation++) {
        const stream = leadStream(leadIdFor(orgId, phone, generation));
        const upTo = upToPosition(await streamOf(stream), event.position);
        if (upTo.length === 0) break;
        lead = foldLead(upTo);
        resource = stream;
      }
      const consent = (await streamOf(event.streamId)).filter((e) => e.revision <= event.revision);
      data = lead && leadData(lead, consent);
    }
    if (!data) continue;
    messages.set(event.id, { type, resource, body: JSON.stringify({ type, timestamp: event.metadata.occurredAt, data }) });
  }
  return messages;
}

/**
 * Outbound webhooks from the log (CONTRACT §9): each booking, lead or consent event that maps to a webhook
 * type becomes one delivery row per active endpoint of the event's own org that subscribes to the type and
 * was created at or before the event, written in the transaction that moves this checkpoint (so an event
 * is never delivered twice as two rows, nor lost), with a `webhook-delivery` job per (endpoint, resource).
 * The resource is folded from its streams outside the transaction (`prepare`). Runs in worker processes.
 */
export const webhookDeliveries: Subscriber<SubscriberDeps, Map<string, Message>> = {
  name: WEBHOOK_DELIVERIES,
  filter: FILTER,
  batchSize: 200,
  prepare: (deps, events) => messagesOf(deps, events),
  async handle(trx, events, messages) {
    const orgIds = [...new Set(events.map((e) => e.metadata.orgId))];
    const endpoints = await trx
      .selectFrom('webhook_endpoints')
      .select(['id', 'org_id', 'events', 'created_at'])
      .where('org_id', 'in', orgIds)
      .where('status', '=', 'active')
      .execute();
    if (endpoints.length === 0) return;
    const rows = [];
    const keys = new Map<string, DeliveryQueueKey>();
    for (const event of events) {
      const message = messages.get(event.id);
      if (!message) continue;
      const occurredAt = Date.parse(event.metadata.occurredAt);
      for (const endpoint of endpoints) {
        if (endpoint.org_id !== event.metadata.orgId || !endpoint.events.includes(message.type)) continue;
        if (new Date(endpoint.created_at).getTime() > occurredAt) continue;
        rows.push({
          id: webhookMessageId(endpoint.id, event.id),
          org_id: endpoint.org_id,
          endpoint_id: endpoint.id,
          event_id: event.id,
          event_type: message.type,
          resource: message.resource,
          body: message.body,
          next_attempt_at: sql<Date>`now()`,
        });
        keys.set(`${endpoint.id}\n${message.resource}`, { orgId: endpoint.org_id, endpointId: endpoint.id, resource: message.resource });
      }
    }
    if (rows.length === 0) return;
    // One statement; rows are numbered (seq) in log order, which is the order each resource is sent in.
    await trx
      .insertInto('webhook_deliveries')
      .values(rows)
      .onConflict((c) => c.doNothing())
      .execute();
    await queueDeliveryJobs(trx, [...keys.values()]);
  },
};
