import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { loadOrg } from '../commands/orgs.ts';
import type { Database } from '../db/schema.ts';
import { type BookingEvent, type BookingState, evolve as evolveBooking } from '../domain/booking.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { Org } from '../domain/org.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import { type EventFilter, type EventStore, type Position, type RecordedEvent, StreamNotFoundError } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import { lockCheckpoint, readCheckpoint, saveCheckpoint } from '../projections/checkpoints.ts';
import { whileLeader } from '../projections/runner.ts';
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
      events = deps.store.readStream(streamId).catch((error: unknown) => {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      }) as Promise<RecordedEvent<BookingEvent>[]>;
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

/** Handles everything up to the store's head (tests, and one-off catch-up); returns the events handled. */
export async function catchUpProcessManager(deps: ProcessManagerDeps, batchSize = 200): Promise<number> {
  let handled = 0;
  let from = (await readCheckpoint(deps.db, PROCESS_MANAGER)).position;
  for (;;) {
    const page = await deps.store.readAll({ from, limit: batchSize, filter: FILTER });
    if (page.checkpoint && comparePositions(page.checkpoint, from) > 0) {
      handled += await handleBatch(deps, page.events, page.checkpoint);
      from = page.checkpoint;
    }
    if (page.events.length < batchSize) return handled;
  }
}

/**
 * Runs the process manager live until `signal` aborts. Of several processes one is active (advisory
 * lock, as projectors); the others take over when it goes. Restarts its subscription after an error.
 */
export async function runProcessManager(deps: ProcessManagerDeps, signal: AbortSignal): Promise<void> {
  const log = deps.log?.child({ processManager: PROCESS_MANAGER });
  while (!signal.aborted) {
    try {
      await whileLeader(deps.db, PROCESS_MANAGER, signal, async () => {
        log?.debug('active');
        const from = (await readCheckpoint(deps.db, PROCESS_MANAGER)).position;
        for await (const batch of deps.store.subscribe({ from, filter: FILTER, batchSize: 200, signal })) {
          const handled = await handleBatch(deps, batch.events, batch.checkpoint);
          if (handled) log?.debug({ handled }, 'queued jobs');
        }
      });
    } catch (error) {
      if (signal.aborted) break;
      log?.error({ err: error }, 'process manager failed; restarting in 1 s');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
