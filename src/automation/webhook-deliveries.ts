import { sql } from 'kysely';
import { type BookingEvent, type BookingState, evolve as evolveBooking } from '../domain/booking.ts';
import { webhookMessageId } from '../domain/ids.ts';
import { type LeadEvent, type LeadState, evolve as evolveLead, toLeadView } from '../domain/lead.ts';
import { WEBHOOK_TYPE_OF, type WebhookSourceEvent } from '../domain/webhook-endpoints.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import type { EventFilter, RecordedEvent } from '../eventstore/port.ts';
import type { Subscriber, SubscriberDeps } from '../subscriptions/subscriber.ts';
import { type DeliveryQueueKey, queueDeliveryJobs } from '../commands/webhook-endpoints.ts';

/** Checkpoint row of this reactor in `projection_checkpoints` (seeded at the store's head by migration 019). */
export const WEBHOOK_DELIVERIES = 'reactor:webhook-deliveries';

const FILTER: EventFilter = { streamPrefixes: ['booking-', 'lead-'], eventTypes: Object.keys(WEBHOOK_TYPE_OF) as WebhookSourceEvent[] };

/** What one event becomes for every endpoint that wants it. */
interface Message {
  readonly type: string;
  readonly resource: string;
  /** `{type, timestamp, data}`: `data` is the resource as the API returns it, as of this event. */
  readonly body: string;
}

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
  for (const event of events) {
    if (!listening.has(event.metadata.orgId)) continue;
    const type = WEBHOOK_TYPE_OF[event.type as WebhookSourceEvent];
    const upTo = (await streamOf(event.streamId)).filter((e) => e.revision <= event.revision);
    let data: unknown;
    if (event.streamId.startsWith('booking-')) {
      data = upTo.reduce<BookingState>((s, e) => evolveBooking(s, toEnvelope(e as RecordedEvent<BookingEvent>)), null);
    } else {
      const lead = upTo.reduce<LeadState>((s, e) => evolveLead(s, toEnvelope(e as RecordedEvent<LeadEvent>)), null);
      data = lead && toLeadView(lead);
    }
    if (!data) continue;
    messages.set(event.id, { type, resource: event.streamId, body: JSON.stringify({ type, timestamp: event.metadata.occurredAt, data }) });
  }
  return messages;
}

/**
 * Outbound webhooks from the log (CONTRACT §9): each booking or lead event that maps to a webhook type
 * becomes one delivery row per active endpoint of the event's own org that subscribes to the type and
 * was created at or before the event, written in the transaction that moves this checkpoint (so an event
 * is never delivered twice as two rows, nor lost), with a `webhook-delivery` job per (endpoint, resource).
 * The resource is folded from its stream outside the transaction (`prepare`). Runs in worker processes.
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
