import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DateTime } from 'luxon';
import { type FormEvent, useState } from 'react';
import { api } from '../api.ts';
import { isoWeekOf, phone, when, zoneName } from '../format.ts';
import { Link } from '../router.tsx';
import type { Booking, Me } from '../types.ts';
import { type LocalWindow, WindowFields, windowOf } from '../window-fields.tsx';
import { LoadError } from './problems.tsx';
import { ErrorText } from '../error-text.tsx';

/** One booking: its window, confirmation and reminder evidence; reschedule or cancel it. */
export function BookingPage({ me, bookingId }: { me: Me; bookingId: string }) {
  const booking = useQuery({ queryKey: ['booking', bookingId], queryFn: () => api<Booking>(`/bookings/${bookingId}`) });
  if (booking.isError) return <LoadError error={booking.error} role={me.role} what="booking" />;
  if (!booking.data) return <p className="loading">Loading…</p>;
  const b = booking.data;
  const zone = me.timezone;
  return (
    <div className="booking-page">
      <section aria-labelledby="booking-title">
        <p>
          <Link to={`/app/calendar?week=${isoWeekOf(DateTime.fromISO(b.window.start, { zone }))}`}>← Calendar</Link>
          {b.leadId && (
            <>
              {' · '}
              <Link to={`/app/leads/${b.leadId}`}>Lead thread</Link>
            </>
          )}
        </p>
        <h1 id="booking-title">
          Visit for {b.customer.name} <span className={`badge status-${b.status}`}>{b.status}</span>
        </h1>
        <dl className="facts">
          <dt>When</dt>
          <dd data-testid="booking-window">
            {when(b.window.start, zone)} – {DateTime.fromISO(b.window.end, { zone }).toFormat('h:mm a')}
          </dd>
          <dt>Zone</dt>
          <dd>{zoneName(zone)}</dd>
          <dt>Phone</dt>
          <dd>
            <a href={`tel:${b.customer.phone}`}>{phone(b.customer.phone)}</a>
          </dd>
          {b.service && (
            <>
              <dt>Service</dt>
              <dd>
                {b.service.type}
                {b.service.summary && `: ${b.service.summary}`}
              </dd>
            </>
          )}
          <dt>Booked by</dt>
          <dd>{b.source.label}</dd>
          <dt>Confirmation</dt>
          <dd>
            <span className={`badge delivery-${b.confirmation.status}`}>{b.confirmation.status}</span>
            {b.confirmation.sentAt && ` at ${when(b.confirmation.sentAt, zone)}`}
          </dd>
          {b.canceledAt && (
            <>
              <dt>Canceled</dt>
              <dd>
                {when(b.canceledAt, zone)}
                {b.cancelReason && ` (${b.cancelReason})`}
              </dd>
            </>
          )}
        </dl>
        <h2>Reminders</h2>
        <table className="table" data-testid="reminders">
          <caption className="sr-only">Reminders of this visit</caption>
          <thead>
            <tr>
              <th scope="col">Before the visit</th>
              <th scope="col">Due</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {b.reminders.map((r) => (
              <tr key={`${r.offsetMinutes}-${r.dueAt}`} className={`reminder-${r.status}`}>
                <td>{r.offsetMinutes >= 60 ? `${r.offsetMinutes / 60} h` : `${r.offsetMinutes} min`}</td>
                <td>{when(r.dueAt, zone)}</td>
                <td>
                  {r.status}
                  {r.sentAt && ` at ${when(r.sentAt, zone)}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {b.evidence && b.evidence.length > 0 && (
          <>
            <h2>History</h2>
            <ol className="timeline compact">
              {b.evidence.map((e, i) => (
                <li key={i} className="entry">
                  <div className="entry-head">
                    <span className="entry-kind">{e.type.replace(/([a-z])([A-Z])/g, '$1 $2')}</span>
                    <time dateTime={e.occurredAt}>{when(e.occurredAt, zone)}</time>
                  </div>
                  <p className="entry-summary">{e.summary}</p>
                  {e.actor && <p className="entry-actor">by {e.actor.label}</p>}
                </li>
              ))}
            </ol>
          </>
        )}
      </section>
      {b.status === 'scheduled' && me.role !== 'auditor' && (
        <aside className="booking-actions" aria-label="Change this booking">
          <Reschedule booking={b} zone={zone} />
          <Cancel booking={b} />
        </aside>
      )}
    </div>
  );
}

function Reschedule({ booking, zone }: { booking: Booking; zone: string }) {
  const queryClient = useQueryClient();
  const s = DateTime.fromISO(booking.window.start, { zone });
  const e = DateTime.fromISO(booking.window.end, { zone });
  const [local, setLocal] = useState<LocalWindow>({ date: s.toISODate()!, start: s.toFormat('HH:mm'), end: e.toFormat('HH:mm') });
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const move = useMutation({
    mutationFn: (window: { start: string; end: string }) =>
      api<Booking>(`/bookings/${booking.id}`, { method: 'PATCH', body: { window, ...(reason.trim() && { reason: reason.trim() }) } }),
    onSuccess: (updated) => {
      queryClient.setQueryData(['booking', booking.id], (old: Booking | undefined) => ({ ...old, ...updated }));
      void queryClient.invalidateQueries();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const window = windowOf(local, zone);
    if (!window) return setError('choose a date and times');
    move.mutate(window);
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="reschedule-title">
      <h2 id="reschedule-title">Reschedule</h2>
      <WindowFields id="reschedule" value={local} onChange={setLocal} />
      <p className="hint">Times in {zoneName(zone)}. Reminders move with the visit.</p>
      <label htmlFor="reschedule-reason">Reason (optional)</label>
      <input id="reschedule-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      <ErrorText message={error} error={move.error} />
      {move.isSuccess && <p role="status">Rescheduled.</p>}
      <button type="submit" className="primary" disabled={move.isPending}>
        Reschedule
      </button>
    </form>
  );
}

function Cancel({ booking }: { booking: Booking }) {
  const queryClient = useQueryClient();
  const [reason, setReason] = useState('');
  const cancel = useMutation({
    mutationFn: () =>
      api<Booking>(`/bookings/${booking.id}`, {
        method: 'PATCH',
        body: { status: 'canceled', ...(reason.trim() && { reason: reason.trim() }) },
      }),
    onSuccess: () => void queryClient.invalidateQueries(),
  });
  return (
    <form className="card" onSubmit={(e) => (e.preventDefault(), cancel.mutate())} aria-labelledby="cancel-title">
      <h2 id="cancel-title">Cancel visit</h2>
      <label htmlFor="cancel-reason">Reason (optional)</label>
      <input id="cancel-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      <ErrorText error={cancel.error} />
      <button type="submit" className="danger" disabled={cancel.isPending}>
        Cancel visit
      </button>
    </form>
  );
}
