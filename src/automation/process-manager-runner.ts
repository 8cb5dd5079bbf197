import { findOrg } from '../commands/org-reads.ts';
import { type BookingEvent, type BookingState, evolve as evolveBooking } from '../domain/booking.ts';
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

const FILTER: EventFilter = { streamPrefixes: ['booking-', 'lead-'], eventTypes: AUTOMATION_EVENT_TYPES };

/** What the process manager needs. */
export type ProcessManagerDeps = SubscriberDeps;

type Recorded = RecordedEvent<AutomationEvent>;

/** The intents of each event (by id) of a batch, with the state loaded from the store. */
async function planBatch(deps: ProcessManagerDeps, events: readonly Recorded[]): Promise<Map<string, JobIntent[]>> {
  const orgs = new Map<string, Promise<Org | null>>();
  const streams = new Map<string, Promise<RecordedEvent<BookingEvent>[]>>();
  const orgOf = (orgId: string) => {
    let org = orgs.get(orgId);
    if (!org) {
      org = findOrg(deps, orgId);
      orgs.set(orgId, org);
    }
    return org;
  };
  const streamOf = (streamId: string) => {
    let events = streams.get(streamId);
    if (!events) {
      events = deps.store.readStream(streamId) as Promise<RecordedEvent<BookingEvent>[]>;
      streams.set(streamId, events);
    }
    return events;
  };
  const planned = new Map<string, JobIntent[]>();
  for (const event of events) {
    const org = await orgOf(event.metadata.orgId);
    let booking: BookingState = null;
    if (event.type === 'BookingRescheduled' || event.type === 'BookingCanceled') {
      const before = (await streamOf(event.streamId)).filter((e) => e.revision < event.revision);
      booking = before.reduce<BookingState>((s, e) => evolveBooking(s, toEnvelope(e)), null);
    }
    const trigger = {
      ...toEnvelope(event),
      id: event.id,
      revision: event.revision,
      correlationId: event.metadata.correlationId,
    } as AutomationTrigger;
    planned.set(event.id, plan(trigger, { org, booking }));
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
  prepare: (deps, events) => planBatch(deps, events as Recorded[]),
  async handle(trx, events, plans) {
    await applyIntents(
      trx,
      events.flatMap((event) => plans.get(event.id) ?? []),
    );
  },
};
