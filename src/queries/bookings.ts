import { type Booking, bookingStream } from '../domain/booking.ts';
import type { DomainEvent } from '../domain/events/index.ts';
import { summarize } from '../domain/summary.ts';
import type { Actor } from '../domain/values.ts';
import type { EventStore } from '../eventstore/port.ts';
import { formatPosition } from '../eventstore/position.ts';
import type { CompiledQuery } from 'kysely';
import type { Db } from '../db/kysely.ts';
import { compiler, named, type StatementRunner } from '../db/named-statement.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

/** One booking of an org, or undefined (absent and other-org look the same). */
export async function getBooking(db: Db, orgId: string, bookingId: string): Promise<Booking | undefined> {
  const row = await db.selectFrom('bookings').select('state').where('org_id', '=', orgId).where('id', '=', bookingId).executeTakeFirst();
  return row?.state as Booking | undefined;
}

/** Filters of {@link listBookings}. */
export interface ListBookingsInput {
  readonly from: string;
  readonly to: string;
  readonly statuses?: readonly ('scheduled' | 'canceled')[];
  readonly limit: number;
  readonly cursor?: string;
}

/**
 * The statement {@link listBookings} sends: built by the connection-less `compiler`, so the text is the
 * same for every call with the same filters (a named prepared statement per shape).
 */
export function listBookingsStatement(orgId: string, input: ListBookingsInput): CompiledQuery<{ state: unknown }> {
  let query = compiler
    .selectFrom('bookings')
    .select('state')
    .where('org_id', '=', orgId)
    .where('window_start', '>=', input.from)
    .where('window_start', '<', input.to);
  if (input.statuses?.length) query = query.where('status', 'in', [...input.statuses]);
  if (input.cursor) {
    const [start, id] = decodeCursor(input.cursor);
    query = query.where((eb) => eb.or([eb('window_start', '>', start), eb.and([eb('window_start', '=', start), eb('id', '>', id)])]));
  }
  return query
    .orderBy('window_start')
    .orderBy('id')
    .limit(input.limit + 1)
    .compile();
}

/**
 * Bookings whose window starts in [from, to), by window start then id, keyset-paginated. Every list
 * request runs it: sent on `pool` as a named prepared statement (the index on (org_id, window_start, id)
 * serves the generic plan as well as a custom one).
 */
export async function listBookings(
  pool: StatementRunner,
  orgId: string,
  input: ListBookingsInput,
): Promise<{ data: Booking[]; nextCursor: string | null }> {
  const statement = listBookingsStatement(orgId, input);
  const { rows } = await pool.query<{ state: Booking }>(named(statement.sql, [...statement.parameters]));
  const data = rows.slice(0, input.limit).map((r) => r.state);
  return { data, nextCursor: rows.length > input.limit ? encodeCursor(data.at(-1)!.window.start, data.at(-1)!.id) : null };
}

/** Windows of an org's scheduled bookings that overlap [from, to) (visits last at most 12 h). */
export async function scheduledWindowsBetween(db: Db, orgId: string, from: string, to: string): Promise<{ start: string; end: string }[]> {
  const earliest = new Date(Date.parse(from) - 12 * 3_600_000).toISOString();
  const rows = await db
    .selectFrom('bookings')
    .select(['window_start', 'window_end'])
    .where('org_id', '=', orgId)
    .where('status', '=', 'scheduled')
    .where('window_start', '>=', earliest)
    .where('window_start', '<', to)
    .where('window_end', '>', from)
    .execute();
  return rows.map((r) => ({ start: new Date(r.window_start).toISOString(), end: new Date(r.window_end).toISOString() }));
}

/** One step of a booking's life as its stream records it: created, moved, canceled, confirmation, reminders, notices. */
export interface BookingEvidence {
  readonly position: string;
  readonly revision: number;
  readonly type: string;
  readonly occurredAt: string;
  readonly actor: Actor;
  readonly summary: string;
  readonly data: unknown;
}

/**
 * A booking's evidence, oldest first, read from its stream (so never behind the read model); empty when
 * the stream is absent or another org's.
 */
export async function bookingEvidence(store: EventStore, orgId: string, bookingId: string): Promise<BookingEvidence[]> {
  const events = await store.readStream(bookingStream(bookingId));
  if (events[0]?.metadata.orgId !== orgId) return [];
  return events.map((e) => ({
    position: formatPosition(e.position),
    revision: e.revision,
    type: e.type,
    occurredAt: new Date(e.metadata.occurredAt).toISOString(),
    actor: e.metadata.actor,
    summary: summarize({ type: e.type, data: e.data } as DomainEvent),
    data: e.data,
  }));
}
