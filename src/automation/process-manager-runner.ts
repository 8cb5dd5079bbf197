import { findOrg } from '../commands/org-reads.ts';
import { BOOKING_EVENT_TYPES, type BookingEvent, type BookingState, evolve as evolveBooking } from '../domain/booking.ts';
import type { Org } from '../domain/org.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import type { EventFilter, RecordedEvent } from '../eventstore/port.ts';
import type { Subscriber, SubscriberDeps } from '../subscriptions/subscriber.ts';
import { applyIntents } from './job-queue.ts';
import { AUTOMATION_EVENT_TYPES, type AutomationEvent, type AutomationTrigger, type JobIntent, plan } from './process-manager.ts';

/**
 * The process manager's checkpoint row in `projection_checkpoints`. It is not a projection: rebuilds and
 * verifies never touch it, and it must never be reset (a replay would queue every message again).
 */
export const PROCESS_MANAGER = 'automation:process-manager';

/**
 * The events it plans from, and every other booking event: it folds each booking from what it is handed
 * (see {@link bookingBefore}) instead of reading the stream again at every reschedule or cancellation.
 */
const FILTER: EventFilter = {
  streamPrefixes: ['booking-', 'lead-'],
  eventTypes: [...new Set([...AUTOMATION_EVENT_TYPES, ...BOOKING_EVENT_TYPES])],
};

const PLANNED = new Set<string>(AUTOMATION_EVENT_TYPES);

/** Bookings as folded from the events this process handed the process manager, per store, with their revision. */
type Folded = { readonly revision: number; readonly state: BookingState };
const foldedBookings = new WeakMap<ProcessManagerDeps['store'], Map<string, Folded>>();
const FOLDED_MAX = 10_000;

/**
 * The booking just before `event`: folded on from the state this process kept at the revision before it
 * (the process manager is handed every booking event in order), read from the store only when it kept
 * none (a restart, a take-over, a batch handled again). Keeps the state after `event` for the next one.
 */
async function bookingBefore(deps: ProcessManagerDeps, event: RecordedEvent<BookingEvent>): Promise<BookingState> {
  let folded = foldedBookings.get(deps.store);
  if (!folded) foldedBookings.set(deps.store, (folded = new Map<string, Folded>()));
  const kept = folded.get(event.streamId);
  let before: BookingState = null;
  if (kept?.revision === event.revision - 1) before = kept.state;
  else if (event.revision > 0) {
    const earlier = await deps.store.readStream(event.streamId, { maxCount: event.revision });
    before = (earlier as RecordedEvent<BookingEvent>[]).reduce<BookingState>((s, e) => evolveBooking(s, toEnvelope(e)), null);
  }
  folded.delete(event.streamId);
  if (folded.size >= FOLDED_MAX) folded.delete(folded.keys().next().value!);
  folded.set(event.streamId, { revision: event.revision, state: evolveBooking(before, toEnvelope(event)) });
  return before;
}

/** What the process manager needs. */
export type ProcessManagerDeps = SubscriberDeps;

type Recorded = RecordedEvent<AutomationEvent>;

/** The intents of each event (by id) of a batch, with the state folded from the batch or loaded from the store. */
async function planBatch(deps: ProcessManagerDeps, events: readonly RecordedEvent[]): Promise<Map<string, JobIntent[]>> {
  const orgs = new Map<string, Promise<Org | null>>();
  const orgOf = (orgId: string) => {
    let org = orgs.get(orgId);
    if (!org) {
      org = findOrg(deps, orgId);
      orgs.set(orgId, org);
    }
    return org;
  };
  const planned = new Map<string, JobIntent[]>();
  for (const event of events) {
    const booking = event.streamId.startsWith('booking-') ? await bookingBefore(deps, event as RecordedEvent<BookingEvent>) : null;
    if (!PLANNED.has(event.type)) continue;
    const org = await orgOf(event.metadata.orgId);
    const trigger = {
      ...toEnvelope(event as Recorded),
      id: event.id,
      revision: event.revision,
      correlationId: event.metadata.correlationId,
    } as AutomationTrigger;
    planned.set(
      event.id,
      plan(trigger, { org, booking: event.type === 'BookingRescheduled' || event.type === 'BookingCanceled' ? booking : null }),
    );
  }
  return planned;
}

/**
 * The process manager as a subscriber: it plans each batch from the store (outside the transaction), then
 * applies the intents of the events past the locked checkpoint (graphile-worker `add_job`/`remove_job`,
 * one statement) in the transaction that moves it. A crash, a concurrent instance or a redelivered batch
 * can therefore never queue an event's jobs twice. Runs in worker processes, after the job queue's schema
 * exists.
 */
export const processManager: Subscriber<ProcessManagerDeps, Map<string, JobIntent[]>> = {
  name: PROCESS_MANAGER,
  filter: FILTER,
  batchSize: 200,
  prepare: (deps, events) => planBatch(deps, events),
  async handle(trx, events, plans) {
    await applyIntents(
      trx,
      events.flatMap((event) => plans.get(event.id) ?? []),
    );
  },
};
