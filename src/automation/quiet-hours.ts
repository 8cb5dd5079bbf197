import type { QuietHours } from '../domain/values.ts';

/**
 * Quiet hours: `{start, end}` wall-clock minutes in the org's time zone, start inclusive, end exclusive,
 * wrapping midnight when start > end (21:00-08:00 is quiet from 21:00 through 07:59). Equal start and end
 * mean no quiet hours (a whole quiet day would hold messages forever, and messages are never dropped).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall clock in `timeZone` at an instant. */
function wallClock(ms: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

/** Milliseconds the zone is ahead of UTC at an instant. */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a wall-clock time happens in `timeZone`: of a time that happens twice (fall back) the
 * first, of a time skipped by spring-forward the same time on the old offset (just after the gap).
 */
function zonedToInstant(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const before = offsetAt(wall - 86_400_000, timeZone);
  const after = offsetAt(wall + 86_400_000, timeZone);
  const matches = [...new Set([wall - before, wall - after])]
    .filter((ms) => {
      const w = wallClock(ms, timeZone);
      return w.year === year && w.month === month && w.day === day && w.hour === hour && w.minute === minute;
    })
    .sort((a, b) => a - b);
  return matches[0] ?? wall - before;
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function quietAtMinute(minute: number, quiet: QuietHours): boolean {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return false;
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** True when the instant falls in the quiet hours (wall clock of `timeZone`). */
export function isQuiet(at: string | number, quiet: QuietHours | null, timeZone: string): boolean {
  if (!quiet) return false;
  const w = wallClock(typeof at === 'number' ? at : Date.parse(at), timeZone);
  return quietAtMinute(w.hour * 60 + w.minute, quiet);
}

/**
 * The first instant at or after `at` outside the quiet hours: `at` itself when it is not quiet, else the
 * quiet hours' end (to the minute) on the right local day. Never drops: there is always such a minute.
 */
export function nextAllowed(at: string, quiet: QuietHours | null, timeZone: string): string {
  if (!quiet || quiet.start === quiet.end) return at;
  let ms = Date.parse(at);
  // One pass normally; the loop only guards odd DST transitions that land back inside the quiet hours.
  for (let i = 0; i < 3 && isQuiet(ms, quiet, timeZone); i++) {
    const w = wallClock(ms, timeZone);
    const end = minutesOf(quiet.end);
    const sameDay = end > w.hour * 60 + w.minute;
    const day = new Date(Date.UTC(w.year, w.month - 1, w.day + (sameDay ? 0 : 1)));
    ms = zonedToInstant(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), Math.floor(end / 60), end % 60, timeZone);
  }
  return new Date(ms).toISOString();
}
