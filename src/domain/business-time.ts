import { DateTime } from 'luxon';
import { type BlackoutDate, type BusinessHours, WEEKDAYS } from './values.ts';

/** The org's clock for response targets: its opening hours, zone and closed days. */
export interface BusinessCalendar {
  readonly businessHours: BusinessHours;
  readonly timezone: string;
  readonly blackoutDates?: readonly BlackoutDate[];
}

/** How far ahead a deadline is looked for: a calendar with no opening hours has none. */
const HORIZON_DAYS = 60;

function atClock(day: DateTime, clock: string): DateTime {
  const [hour, minute] = clock.split(':').map(Number) as [number, number];
  return hour === 24 ? day.plus({ days: 1 }).startOf('day') : day.set({ hour, minute, second: 0, millisecond: 0 });
}

/**
 * The instant `minutes` of business time after `from` (CONTRACT §10: response targets count business
 * hours). Time outside the opening hours, and on blackout days, does not count: a call at 7:55 PM on a
 * Friday with a 5-minute target is due at 8:05 AM on Monday. No opening hours at all (within 60 days):
 * the target counts on the wall clock.
 */
export function addBusinessMinutes(from: string, minutes: number, calendar: BusinessCalendar): string {
  const start = DateTime.fromISO(from, { zone: calendar.timezone });
  const closed = new Set((calendar.blackoutDates ?? []).map((b) => b.date));
  let left = minutes * 60_000;
  for (let day = start.startOf('day'), n = 0; n < HORIZON_DAYS; day = day.plus({ days: 1 }), n++) {
    if (closed.has(day.toISODate()!)) continue;
    const hours = [...(calendar.businessHours[WEEKDAYS[day.weekday % 7]!] ?? [])].sort((a, b) => a.start.localeCompare(b.start));
    for (const { start: open, end: close } of hours) {
      const opens = DateTime.max(atClock(day, open), start);
      const closes = atClock(day, close);
      if (closes <= opens) continue;
      const span = closes.toMillis() - opens.toMillis();
      if (left <= span) return new Date(opens.toMillis() + left).toISOString();
      left -= span;
    }
  }
  return new Date(Date.parse(from) + minutes * 60_000).toISOString();
}
