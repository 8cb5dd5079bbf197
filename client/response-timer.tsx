import { DateTime } from 'luxon';
import { useEffect, useState } from 'react';
import type { Lead } from './types.ts';

/** The current time, refreshed every `ms` (the response timers tick with it). */
export function useNow(ms = 15_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Where a lead's first-response timer stands: none, on time, past half-way (amber), overdue (red). */
export type TimerState = 'none' | 'ok' | 'half' | 'overdue';

export function timerOf(lead: Lead, now: number): { state: TimerState; text: string } {
  const due = lead.firstResponseDueAt;
  if (!due || lead.firstRespondedAt || (lead.status !== 'active' && lead.status !== 'booked')) return { state: 'none', text: '' };
  const left = Date.parse(due) - now;
  // Overdue counts whole minutes past due; time left rounds up (never "0 min left").
  const minutes = left <= 0 ? Math.floor(-left / 60_000) : Math.ceil(left / 60_000);
  const span = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
  if (left <= 0) return { state: 'overdue', text: minutes ? `Reply overdue by ${span}` : 'Reply overdue' };
  const half = lead.firstResponseHalfAt ? Date.parse(lead.firstResponseHalfAt) : Date.parse(due) - 1;
  // Far off (outside opening hours, the clock is stopped): name the due time instead of a countdown.
  const text = minutes > 120 ? `Reply due ${DateTime.fromMillis(Date.parse(due)).toFormat('ccc h:mm a')}` : `Reply within ${span}`;
  return { state: now >= half ? 'half' : 'ok', text };
}

/** The first-response timer: amber past half the target, red when overdue (CONTRACT §10). */
export function ResponseTimer({ lead, now }: { lead: Lead; now: number }) {
  const { state, text } = timerOf(lead, now);
  if (state === 'none') return null;
  return (
    <span className={`timer timer-${state}`} data-testid="response-timer" data-state={state}>
      {state === 'overdue' ? '⚠ ' : '⏱ '}
      {text}
    </span>
  );
}
