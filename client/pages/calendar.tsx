import { useQuery } from '@tanstack/react-query';
import { DateTime } from 'luxon';
import { api } from '../api.ts';
import { isoWeekOf, phone, timeOfDay, zoneName } from '../format.ts';
import { Link, useRouter } from '../router.tsx';
import type { Booking, Me, Page } from '../types.ts';
import { ErrorText } from '../error-text.tsx';

const FIRST_HOUR = 6;
const LAST_HOUR = 21;

/** Monday 00:00 of an ISO week ("2026-W49") in the zone; the current week when absent or malformed. */
function weekStart(week: string | null, zone: string): DateTime {
  const parsed = week && /^\d{4}-W\d{2}$/.test(week) ? DateTime.fromISO(`${week}-1`, { zone }) : null;
  return (parsed?.isValid ? parsed : DateTime.now().setZone(zone)).startOf('week');
}

/** The week's bookings in a day-by-hour grid, in the org's zone. */
export function CalendarPage({ me }: { me: Me }) {
  const { search } = useRouter();
  const start = weekStart(search.get('week'), me.timezone);
  const end = start.plus({ weeks: 1 });
  const week = isoWeekOf(start);
  const bookings = useQuery({
    queryKey: ['bookings', week],
    queryFn: () =>
      api<Page<Booking>>(
        `/bookings?from=${encodeURIComponent(start.toUTC().toISO()!)}&to=${encodeURIComponent(end.toUTC().toISO()!)}&status=scheduled,canceled&limit=200`,
      ),
  });
  const days = Array.from({ length: 7 }, (_, i) => start.plus({ days: i }));
  const hours = Array.from({ length: LAST_HOUR - FIRST_HOUR }, (_, i) => FIRST_HOUR + i);
  return (
    <section className="calendar" aria-labelledby="calendar-title">
      <div className="calendar-head">
        <h1 id="calendar-title">
          Week {start.weekNumber}: {start.toFormat('LLL d')} – {end.minus({ days: 1 }).toFormat('LLL d, yyyy')}
        </h1>
        <p className="zone" data-testid="zone">
          Times in {zoneName(me.timezone)}
        </p>
        <nav aria-label="Weeks" className="week-nav">
          <Link to={`/app/calendar?week=${isoWeekOf(start.minus({ weeks: 1 }))}`}>← Previous week</Link>
          <Link to="/app/calendar">This week</Link>
          <Link to={`/app/calendar?week=${isoWeekOf(start.plus({ weeks: 1 }))}`}>Next week →</Link>
        </nav>
        <p className="legend">
          <span className="badge status-scheduled">scheduled</span> <span className="badge status-canceled">canceled</span>
        </p>
      </div>
      <ErrorText error={bookings.error} />
      <div className="week-grid" style={{ ['--hours' as string]: hours.length }}>
        <div className="hours" aria-hidden="true">
          <div className="day-head" />
          {hours.map((h) => (
            <div key={h} className="hour">
              {DateTime.fromObject({ hour: h }).toFormat('h a')}
            </div>
          ))}
        </div>
        {days.map((day) => {
          const todays = (bookings.data?.data ?? []).filter((b) =>
            DateTime.fromISO(b.window.start, { zone: me.timezone }).hasSame(day, 'day'),
          );
          return (
            <section key={day.toISODate()} className="day" aria-label={day.toFormat('cccc LLL d')}>
              <h2 className="day-head">{day.toFormat('ccc LLL d')}</h2>
              <ul className="day-body">
                {todays.map((b) => {
                  const s = DateTime.fromISO(b.window.start, { zone: me.timezone });
                  const e = DateTime.fromISO(b.window.end, { zone: me.timezone });
                  const top = Math.max(0, (s.hour + s.minute / 60 - FIRST_HOUR) / (LAST_HOUR - FIRST_HOUR)) * 100;
                  const height = Math.max(4, (e.diff(s, 'hours').hours / (LAST_HOUR - FIRST_HOUR)) * 100);
                  return (
                    <li
                      key={b.id}
                      className={`slot status-${b.status}`}
                      style={{ top: `${top}%`, height: `${Math.min(height, 100 - top)}%` }}
                    >
                      <Link to={`/app/bookings/${b.id}`} className="slot-link">
                        <strong>{b.customer.name}</strong>
                        <span>
                          {timeOfDay(b.window.start, me.timezone)}–{timeOfDay(b.window.end, me.timezone)}
                        </span>
                        <span>{b.status === 'canceled' ? 'canceled' : phone(b.customer.phone)}</span>
                      </Link>
                    </li>
                  );
                })}
              </ul>
            </section>
          );
        })}
      </div>
    </section>
  );
}
