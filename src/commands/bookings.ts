import { randomUUID } from 'node:crypto';
import { type Booking, type BookingEvent, type BookingState, bookingStream, decide, evolve } from '../domain/booking.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { EventOf } from '../domain/events/index.ts';
import type { TimeWindow } from '../domain/values.ts';
import { toEnvelope } from '../eventstore/envelope.ts';
import type { Position, RecordedEvent } from '../eventstore/port.ts';
import type { CommandCaller, CommandDeps } from './context.ts';
import { IdempotencyKeyReusedError, VersionMismatchError } from './errors.ts';
import { type LoadedStream, execute, newStream } from './execute.ts';
import { type IdempotencyInput, idFromKey } from '../domain/ids.ts';
import { loadOrg } from './org-reads.ts';

export type { IdempotencyInput };

/** The answer to a booking write: the booking after it, where it landed, and whether it was replayed. */
export interface BookingOutcome {
  readonly booking: Booking;
  readonly position: Position | null;
  readonly replayed: boolean;
}

/** Fields of a create request (CONTRACT §3 "Create body"). */
export type CreateBookingInput = Pick<
  EventOf<'BookingCreated'>['data'],
  'window' | 'customer' | 'service' | 'notes' | 'leadId' | 'externalRef'
> & {
  timezone?: string;
};

/** The change a PATCH asks for: exactly one of reschedule or cancel. */
export type BookingChange = { kind: 'reschedule'; window: TimeWindow; reason?: string } | { kind: 'cancel'; reason?: string };

/** The state as it was right after `events[index]`: what the first response carried. */
function replayAt(events: readonly RecordedEvent<BookingEvent>[], index: number): BookingOutcome {
  const booking = events.slice(0, index + 1).reduce<BookingState>((s, e) => evolve(s, toEnvelope(e)), null);
  return { booking: booking!, position: events[index]!.position, replayed: true };
}

function keyedReplay(loaded: LoadedStream<BookingState, BookingEvent>, idempotency: IdempotencyInput): BookingOutcome | undefined {
  const index = loaded.events.findIndex((e) => e.metadata.idempotencyKey === idempotency.key);
  if (index === -1) return undefined;
  if (loaded.events[index]!.metadata.requestHash !== idempotency.requestHash) throw new IdempotencyKeyReusedError();
  return replayAt(loaded.events, index);
}

/**
 * Creates a booking. With an Idempotency-Key the booking id is derived from (org, key) and the
 * stream must not exist yet, so concurrent or repeated requests converge on one stream: the
 * first appends, the others find its event and replay it (or 409 if the request differs).
 */
export async function createBooking(
  deps: CommandDeps,
  caller: CommandCaller,
  input: CreateBookingInput,
  idempotency?: IdempotencyInput,
): Promise<BookingOutcome> {
  const org = await loadOrg(deps, caller.orgId, caller.orgSeen);
  const bookingId = idempotency ? idFromKey(caller.orgId, idempotency.key) : randomUUID();
  const streamId = bookingStream(bookingId);
  const source = { actorType: caller.actor.type as Booking['source']['actorType'], actorId: caller.actor.id, label: caller.actor.label };
  const result = await execute<BookingState, BookingEvent, BookingOutcome>(deps, caller, {
    streamId,
    evolve,
    initial: null,
    idempotency,
    loaded: newStream(null),
    decide: (loaded, now) => {
      if (loaded.revision >= 0) {
        const replay = idempotency && keyedReplay(loaded, idempotency);
        if (!replay || loaded.events[0]!.metadata.idempotencyKey !== idempotency.key) throw new IdempotencyKeyReusedError();
        return { done: replay };
      }
      const events = decide(
        {
          type: 'CreateBooking',
          now: now.toISOString(),
          data: {
            ...input,
            bookingId,
            orgId: caller.orgId,
            source,
            reminderOffsetsMinutes: org.settings.reminderOffsetsMinutes,
            orgTimezone: org.timezone,
          },
        },
        null,
      );
      return { append: events };
    },
  });
  if (result.kind === 'done') return result.result;
  return { booking: result.state!, position: result.position, replayed: false };
}

/** Reschedules or cancels a booking of the caller's org; another org's booking is NotFound. */
export async function changeBooking(
  deps: CommandDeps,
  caller: CommandCaller,
  bookingId: string,
  change: BookingChange,
  options: { ifMatch?: number; idempotency?: IdempotencyInput } = {},
): Promise<BookingOutcome> {
  const { idempotency, ifMatch } = options;
  const org = await loadOrg(deps, caller.orgId, caller.orgSeen);
  const streamId = bookingStream(bookingId);
  const result = await execute<BookingState, BookingEvent, BookingOutcome>(deps, caller, {
    streamId,
    evolve,
    initial: null,
    idempotency,
    decide: (loaded, now) => {
      const state = loaded.state;
      if (!state || state.orgId !== caller.orgId) throw new NotFoundError('booking not found');
      const replay = idempotency && keyedReplay(loaded, idempotency);
      if (replay) return { done: replay };
      if (ifMatch !== undefined && ifMatch !== state.version) throw new VersionMismatchError(ifMatch, state.version);
      const nowIso = now.toISOString();
      const events =
        change.kind === 'cancel'
          ? decide(
              { type: 'CancelBooking', now: nowIso, data: { bookingId, ...(change.reason !== undefined && { reason: change.reason }) } },
              state,
            )
          : decide(
              {
                type: 'RescheduleBooking',
                now: nowIso,
                data: {
                  bookingId,
                  window: change.window,
                  ...(change.reason !== undefined && { reason: change.reason }),
                  reminderOffsetsMinutes: org.settings.reminderOffsetsMinutes,
                },
              },
              state,
            );
      return { append: events };
    },
  });
  if (result.kind === 'done') return result.result;
  return { booking: result.state!, position: result.position, replayed: false };
}
