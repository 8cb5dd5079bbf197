import type { CommandCaller, CommandDeps } from '../commands/context.ts';
import { linkBookingToLead, loadLead, openLeadOf } from '../commands/leads.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { EventOf } from '../domain/events/index.ts';
import type { EventFilter, RecordedEvent } from '../eventstore/port.ts';
import type { Subscriber, SubscriberDeps } from '../subscriptions/subscriber.ts';

/** Checkpoint row of this reactor in `projection_checkpoints`. */
export const LEAD_BOOKING_LINK = 'reactor:lead-booking-link';

const FILTER: EventFilter = { streamPrefixes: ['booking-'], eventTypes: ['BookingCreated'] };

/** What the reactor needs: the store and clock to append, the database for its checkpoint. */
export interface ReactorDeps extends CommandDeps, SubscriberDeps {}

type BookingCreated = RecordedEvent<EventOf<'BookingCreated'>>;

/**
 * A booking moves its lead to Booked: the lead named by `leadId` (if it is a lead of the booking's org),
 * else the open lead of the customer's phone, if any. Linking is idempotent (deterministic event ids,
 * and a lead records each booking once), so handling an event twice changes nothing.
 */
export async function linkCreatedBooking(deps: CommandDeps, event: BookingCreated): Promise<string | undefined> {
  const { bookingId, orgId, leadId, customer } = event.data;
  const caller: CommandCaller = {
    orgId,
    actor: { type: 'system', id: 'lead-booking-link', label: 'Lead booking link' },
    correlationId: event.metadata.correlationId,
    causationId: event.id,
  };
  let target: string | undefined;
  if (leadId) {
    try {
      target = (await loadLead(deps, orgId, leadId)).id;
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  target ??= (await openLeadOf(deps, orgId, customer.phone))?.id;
  if (!target) return undefined;
  await linkBookingToLead(deps, caller, target, bookingId);
  return target;
}

/**
 * The reactor as a subscriber. It appends to the event store, which cannot share the checkpoint's
 * transaction, so it links in `prepare` and the checkpoint moves after (at-least-once; linking is
 * idempotent). Runs beside the projectors.
 */
export const leadBookingLink: Subscriber<ReactorDeps, void> = {
  name: LEAD_BOOKING_LINK,
  filter: FILTER,
  batchSize: 200,
  async prepare(deps, events) {
    for (const event of events as BookingCreated[]) await linkCreatedBooking(deps, event);
  },
};
