import { DateTime } from 'luxon';
import type { OrgSettings } from './org.ts';
import { WEEKDAYS, type BlackoutDate } from './values.ts';

/** One arrival window the org can still take visits in. */
export interface OpenWindow {
  readonly start: string;
  readonly end: string;
  /** Visits the crew can take in this window. */
  readonly capacity: number;
  /** Scheduled bookings overlapping it. */
  readonly booked: number;
  readonly remaining: number;
}

/** The answer: open windows plus what callers should know about closed days. */
export interface Availability {
  readonly timezone: string;
  readonly durationMinutes: number;
  readonly windows: OpenWindow[];
  /** Blackout dates inside the range, with their reason. */
  readonly blackouts: BlackoutDate[];
  /** Plain-language hints: e.g. that the range is fully booked and when the next opening is. */
  readonly guidance: string[];
}

/** What {@link computeAvailability} needs; `now` is the caller's clock. */
export interface AvailabilityInput {
  readonly from: string;
  readonly to: string;
  readonly durationMinutes: number;
  readonly now: string;
  readonly timezone: string;
  readonly settings: Pick<OrgSettings, 'businessHours' | 'crewCapacity' | 'blackoutDates'>;
  /** Scheduled bookings that may overlap [from, to). */
  readonly bookings: readonly { readonly start: string; readonly end: string }[];
}

/**
 * Open arrival windows in [from, to): consecutive windows of `durationMinutes` inside each day's
 * business hours (org time zone), never in the past, never on a blackout date, and only while
 * fewer scheduled bookings overlap a window than the crew can take.
 */
export function computeAvailability(input: AvailabilityInput): Availability {
  const zone = input.timezone;
  const from = DateTime.fromISO(input.from, { zone: 'utc' });
  const to = DateTime.fromISO(input.to, { zone: 'utc' });
  const now = DateTime.fromISO(input.now, { zone: 'utc' });
  const blackoutByDate = new Map(input.settings.blackoutDates.map((b) => [b.date, b]));
  const bookings = input.bookings.map((b) => ({ start: Date.parse(b.start), end: Date.parse(b.end) }));
  const windows: OpenWindow[] = [];
  const blackouts: BlackoutDate[] = [];
  let full = 0;

  for (let day = from.setZone(zone).startOf('day'); day < to; day = day.plus({ days: 1 })) {
    const date = day.toISODate()!;
    const blackout = blackoutByDate.get(date);
    if (blackout) {
      blackouts.push(blackout);
      continue;
    }
    const hours = input.settings.businessHours[WEEKDAYS[day.weekday % 7]!] ?? [];
    for (const { start, end } of hours) {
      const open = atClock(day, start);
      const close = atClock(day, end);
      for (let slot = open; slot.plus({ minutes: input.durationMinutes }) <= close; slot = slot.plus({ minutes: input.durationMinutes })) {
        const slotEnd = slot.plus({ minutes: input.durationMinutes });
        if (slot < from || slot >= to || slot <= now) continue;
        const s = slot.toMillis();
        const e = slotEnd.toMillis();
        const booked = bookings.filter((b) => b.start < e && b.end > s).length;
        const remaining = input.settings.crewCapacity - booked;
        if (remaining <= 0) {
          full++;
          continue;
        }
        windows.push({
          start: slot.toUTC().toISO()!,
          end: slotEnd.toUTC().toISO()!,
          capacity: input.settings.crewCapacity,
          booked,
          remaining,
        });
      }
    }
  }

  const guidance: string[] = [];
  for (const b of blackouts) guidance.push(`Closed on ${b.date}${b.reason ? ` (${b.reason})` : ''}: offer another day.`);
  if (!windows.length) {
    guidance.push(
      full
        ? 'Every window in this range is fully booked: try a later range.'
        : 'No business hours fall in this range: try a wider or later range.',
    );
  } else if (full) {
    guidance.push(`${full} window${full === 1 ? ' is' : 's are'} fully booked and not listed.`);
  }
  return { timezone: zone, durationMinutes: input.durationMinutes, windows, blackouts, guidance };
}

function atClock(day: DateTime, clock: string): DateTime {
  const [hour, minute] = clock.split(':').map(Number) as [number, number];
  return hour === 24 ? day.plus({ days: 1 }).startOf('day') : day.set({ hour, minute, second: 0, millisecond: 0 });
}
