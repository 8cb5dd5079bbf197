import { BOOKING_EVENT_TYPES, type Booking, type BookingEvent, type BookingState, bookingStream, evolve } from '../../domain/booking.ts';
import { toEnvelope } from '../../eventstore/envelope.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import type { QueryCreator } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type PendingRows, storedStates, type Projection } from '../projection.ts';

/** Folds a batch onto the stored bookings it touches: the rows to write and the ids already stored. */
async function foldBookings(q: QueryCreator<Database>, events: readonly RecordedEvent[], pending?: PendingRows) {
  const states = await storedStates<BookingState>(
    q,
    'bookings',
    events,
    (e) => (e.data as { bookingId: string }).bookingId,
    bookingStream,
    pending,
  );
  const stored = new Set(states.keys());
  for (const event of events as RecordedEvent<BookingEvent>[]) {
    const id = event.data.bookingId;
    states.set(id, evolve(states.get(id) ?? null, toEnvelope(event)));
  }
  const values = [...states.values()]
    .filter((b): b is Booking => b !== null)
    .map((b) => ({
      id: b.id,
      org_id: b.orgId,
      status: b.status,
      window_start: b.window.start,
      window_end: b.window.end,
      customer_phone: b.customer.phone,
      lead_id: b.leadId ?? null,
      state: JSON.stringify(b),
      version: b.version,
      updated_at: b.updatedAt,
    }));
  return { values, stored };
}

/** `bookings`: one row per booking holding the API shape, plus the columns the list query needs. */
export const bookingsProjection: Projection = {
  name: 'bookings',
  filter: { streamPrefixes: ['booking-'], eventTypes: BOOKING_EVENT_TYPES },
  tables: ['bookings'],
  async apply(q, events) {
    const { values } = await foldBookings(q, events);
    if (!values.length) return;
    await q
      .insertInto('bookings')
      .values(values)
      .onConflict((c) =>
        c.column('id').doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          window_start: eb.ref('excluded.window_start'),
          window_end: eb.ref('excluded.window_end'),
          customer_phone: eb.ref('excluded.customer_phone'),
          lead_id: eb.ref('excluded.lead_id'),
          state: eb.ref('excluded.state'),
          version: eb.ref('excluded.version'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  },
  async fold(q, events, pending) {
    const { values, stored } = await foldBookings(q, events, pending);
    return [{ table: 'bookings', rows: values, replace: { column: 'id', keys: values.filter((v) => stored.has(v.id)).map((v) => v.id) } }];
  },
};
