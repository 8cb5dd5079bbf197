import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { CommandCaller, CommandDeps } from '../commands/context.ts';
import { linkBookingToLead, loadLead, openLeadOf } from '../commands/leads.ts';
import type { Database } from '../db/schema.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { EventOf } from '../domain/events/index.ts';
import type { EventFilter, Position, RecordedEvent } from '../eventstore/port.ts';
import { comparePositions } from '../eventstore/position.ts';
import { lockCheckpoint, readCheckpoint, saveCheckpoint } from '../projections/checkpoints.ts';
import { type CheckpointedSubscriber, catchUpSubscriber, runSubscriber } from '../projections/runner.ts';

/** Checkpoint row of this reactor in `projection_checkpoints`. */
export const LEAD_BOOKING_LINK = 'reactor:lead-booking-link';

const FILTER: EventFilter = { streamPrefixes: ['booking-'], eventTypes: ['BookingCreated'] };

/** What the reactor needs: the store and clock to append, the database for its checkpoint. */
export interface ReactorDeps extends CommandDeps {
  readonly db: Kysely<Database>;
  readonly log?: Logger;
}

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

/** Handles a batch, then moves the checkpoint (at-least-once; handling is idempotent). */
async function handleBatch(deps: ReactorDeps, events: readonly RecordedEvent[], checkpoint: Position): Promise<number> {
  const current = await readCheckpoint(deps.db, LEAD_BOOKING_LINK);
  if (comparePositions(checkpoint, current.position) <= 0) return 0;
  const fresh = (events as BookingCreated[]).filter((e) => comparePositions(e.position, current.position) > 0);
  for (const event of fresh) await linkCreatedBooking(deps, event);
  await deps.db.transaction().execute(async (trx) => {
    const locked = await lockCheckpoint(trx, LEAD_BOOKING_LINK);
    if (comparePositions(checkpoint, locked.position) > 0) await saveCheckpoint(trx, LEAD_BOOKING_LINK, checkpoint, fresh.length);
  });
  return fresh.length;
}

/** The reactor as a checkpointed subscriber. */
function subscriber(deps: ReactorDeps): CheckpointedSubscriber {
  return { name: LEAD_BOOKING_LINK, filter: FILTER, handle: (events, checkpoint) => handleBatch(deps, events, checkpoint) };
}

/** Handles every booking created up to the store's head; returns how many were handled. */
export function catchUpLeadBookingLink(deps: ReactorDeps, batchSize = 200): Promise<number> {
  return catchUpSubscriber(deps, subscriber(deps), { batchSize });
}

/** Runs the reactor live until `signal` aborts (beside the projectors, as the elected instance); restarts after an error. */
export function runLeadBookingLink(deps: ReactorDeps, signal: AbortSignal): Promise<void> {
  return runSubscriber(deps, subscriber(deps), signal, { lockName: LEAD_BOOKING_LINK, batchSize: 200 });
}
