import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { loadOrg } from '../commands/orgs.ts';
import type { Database } from '../db/schema.ts';
import { type BookingEvent, type BookingState, evolve as evolveBooking } from '../domain/booking.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { Org } from '../domain/org.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import { type EventFilter, type EventStore, type Position, type RecordedEvent } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import { lockCheckpoint, readCheckpoint, saveCheckpoint } from '../projections/checkpoints.ts';
import { type CheckpointedSubscriber, catchUpSubscriber, runSubscriber } from '../projections/runner.ts';
import { seedCheckpoints } from './checkpoint-seed.ts';
import { applyIntent } from './job-queue.ts';
import { AUTOMATION_EVENT_TYPES, type AutomationEvent, type AutomationTrigger, type JobIntent, plan } from './process-manager.ts';

/**
 * The process manager's checkpoint row in `projection_checkpoints`. It is not a projection: rebuilds and
 * verifies never touch it, and it must never be reset (a replay would queue every message again).
 */
export const PROCESS_MANAGER = 'automation:process-manager';

const FILTER: EventFilter = { streamPrefixes: ['booking-', 'lead-'], eventTypes: AUTOMATION_EVENT_TYPES };

/** What the process manager needs. */
export interface ProcessManagerDeps {
  readonly db: Kysely<Database>;
  readonly store: EventStore;
  readonly log?: Logger;
}

type Recorded = RecordedEvent<AutomationEvent>;

/** The intents of each event of a batch, with the state loaded from the store (outside any transaction). */
async function planBatch(deps: ProcessManagerDeps, events: readonly Recorded[]): Promise<{ position: Position; intents: JobIntent[] }[]> {
  const orgs = new Map<string, Promise<Org | null>>();
  const streams = new Map<string, Promise<RecordedEvent<BookingEvent>[]>>();
  const orgOf = (orgId: string) => {
    let org = orgs.get(orgId);
    if (!org) {
      org = loadOrg(deps, orgId).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
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
  const planned = [];
  for (const event of events) {
    const org = await orgOf(event.metadata.orgId);
    let booking: BookingState = null;
    if (event.type === 'BookingRescheduled' || event.type === 'BookingCanceled') {
      const before = (await streamOf(event.streamId)).filter((e) => e.revision < event.revision);
      booking = before.reduce<BookingState>((s, e) => evolveBooking(s, toEnvelope(e)), null);
    }
    const trigger = { ...toEnvelope(event), id: event.id, revision: event.revision, correlationId: event.metadata.correlationId } as AutomationTrigger;
    planned.push({ position: event.position, intents: plan(trigger, { org, booking }) });
  }
  return planned;
}

/**
 * Handles one batch: plans it, then in one transaction locks the checkpoint row, applies the intents of
 * the events past it (graphile-worker `add_job`/`remove_job`) and moves it. A crash, a concurrent
 * instance or a redelivered batch can therefore never queue an event's jobs twice.
 */
export async function handleBatch(deps: ProcessManagerDeps, events: readonly RecordedEvent[], checkpoint: Position): Promise<number> {
  const current = await readCheckpoint(deps.db, PROCESS_MANAGER);
  if (comparePositions(checkpoint, current.position) <= 0) return 0;
  const fresh = (events as Recorded[]).filter((e) => comparePositions(e.position, current.position) > 0);
  const planned = await planBatch(deps, fresh);
  return deps.db.transaction().execute(async (trx) => {
    const locked = await lockCheckpoint(trx, PROCESS_MANAGER);
    if (comparePositions(checkpoint, locked.position) <= 0) return 0;
    const todo = planned.filter((p) => comparePositions(p.position, locked.position) > 0);
    for (const { intents } of todo) for (const intent of intents) await applyIntent(trx, intent);
    await saveCheckpoint(trx, PROCESS_MANAGER, checkpoint, todo.length);
    return todo.length;
  });
}

/** The process manager as a checkpointed subscriber. */
function subscriber(deps: ProcessManagerDeps): CheckpointedSubscriber {
  return { name: PROCESS_MANAGER, filter: FILTER, handle: (events, checkpoint) => handleBatch(deps, events, checkpoint) };
}

/** Handles everything up to the store's visible head, or until `until` is handled (tests, one-off catch-up); returns the events handled. */
export async function catchUpProcessManager(deps: ProcessManagerDeps, options: { until?: Position | null; batchSize?: number } = {}): Promise<number> {
  await seedCheckpoints(deps);
  return catchUpSubscriber(deps, subscriber(deps), { batchSize: options.batchSize ?? 200, ...(options.until !== undefined && { until: options.until }) });
}

/**
 * Runs the process manager live until `signal` aborts. Of several processes one is active (advisory
 * lock, as projectors); the others take over when it goes. Restarts its subscription after an error.
 */
export async function runProcessManager(deps: ProcessManagerDeps, signal: AbortSignal): Promise<void> {
  // Before the first read of the checkpoint: with EventStoreDB it starts at the head, not at nothing.
  while (!signal.aborted) {
    try {
      await seedCheckpoints(deps);
      break;
    } catch (error) {
      deps.log?.error({ err: error }, 'seeding the process manager checkpoint failed; retrying in 1 s');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return runSubscriber(deps, subscriber(deps), signal, { lockName: PROCESS_MANAGER, batchSize: 200 });
}
