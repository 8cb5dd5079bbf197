import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DateTime } from 'luxon';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api, ApiError, describeError } from '../api.ts';
import { ago, phone, since, timeOfDay, when, zoneName } from '../format.ts';
import { Link, useRouter } from '../router.tsx';
import type { Booking, Consent, LeadDetail, LeadPage, Me } from '../types.ts';
import { type LocalWindow, WindowFields, windowOf } from '../window-fields.tsx';
import { ResponseTimer, useNow } from '../response-timer.tsx';
import { Conversation } from './conversation.tsx';
import { LoadError } from './problems.tsx';
import { ErrorText } from '../error-text.tsx';

const FILTERS = [
  { value: 'active', label: 'Active' },
  { value: 'booked', label: 'Booked' },
  { value: 'won', label: 'Won' },
  { value: 'lost', label: 'Lost' },
  { value: 'all', label: 'All' },
];

/** Whose leads the list shows (CONTRACT §10). */
const ASSIGNEE_FILTERS = [
  { value: 'me', label: 'Mine', count: 'mine' },
  { value: 'none', label: 'Unassigned', count: 'unassigned' },
  { value: 'all', label: 'All', count: 'all' },
] as const;

/** The list's query string for a status and assignee filter (defaults left out). */
function listSuffix(status: string, assignee: string): string {
  const params = new URLSearchParams();
  if (status !== 'active') params.set('status', status);
  if (assignee !== 'all') params.set('assignee', assignee);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Who owns a lead, in words. */
function ownerOf(lead: { assignee?: { label: string } | null }, me: Me): string {
  if (!lead.assignee) return 'Unassigned';
  return lead.assignee.label === me.email ? 'You' : lead.assignee.label;
}

const isTyping = (target: EventTarget | null) =>
  target instanceof HTMLElement && (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable);

/** The inbox: lead list, the selected lead's thread, and its details (three panes; one at a time on a phone). */
export function InboxPage({ me, leadId }: { me: Me; leadId: string | null }) {
  const { search, navigate } = useRouter();
  const status = search.get('status') ?? 'active';
  const assignee = search.get('assignee') ?? 'all';
  const [query, setQuery] = useState(search.get('q') ?? '');
  const [debounced, setDebounced] = useState(query);
  const searchBox = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(query.trim()), 250);
    return () => clearTimeout(timer);
  }, [query]);
  const params = new URLSearchParams({ status, limit: '100', order: 'newest' });
  if (debounced) params.set('q', debounced);
  if (assignee !== 'all') params.set('assignee', assignee);
  const leads = useQuery({ queryKey: ['leads', status, assignee, debounced], queryFn: () => api<LeadPage>(`/leads?${params}`) });
  const suffix = listSuffix(status, assignee);
  const here = `/app/leads${leadId ? `/${leadId}` : ''}`;
  const now = useNow();

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
      if (event.key === '/') {
        event.preventDefault();
        searchBox.current?.focus();
        return;
      }
      if (event.key !== 'j' && event.key !== 'k') return;
      const list = leads.data?.data ?? [];
      if (!list.length) return;
      const at = list.findIndex((l) => l.id === leadId);
      const next = event.key === 'j' ? Math.min(at + 1, list.length - 1) : Math.max(at - 1, 0);
      const target = list[at === -1 ? 0 : next]!;
      navigate(`/app/leads/${target.id}${suffix}`);
      document.getElementById(`lead-${target.id}`)?.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [leads.data, leadId, navigate, suffix]);

  return (
    <div className={`inbox${leadId ? ' has-lead' : ''}`}>
      <section className="pane list-pane" aria-labelledby="inbox-title">
        <h1 id="inbox-title">Inbox</h1>
        <div className="filters">
          <label htmlFor="status-filter">Status</label>
          <select id="status-filter" value={status} onChange={(e) => navigate(`${here}${listSuffix(e.target.value, assignee)}`)}>
            {FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
          <label htmlFor="lead-search">Search</label>
          <input
            id="lead-search"
            ref={searchBox}
            type="search"
            placeholder="Phone or name  ( / )"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
        <nav className="assignee-filters" aria-label="Whose leads" data-testid="assignee-filters">
          {ASSIGNEE_FILTERS.map((f) => (
            <Link
              key={f.value}
              to={`${here}${listSuffix(status, f.value)}`}
              className="segment"
              aria-current={assignee === f.value ? 'page' : undefined}
              data-filter={f.value}
            >
              {f.label} <span className="count">{leads.data ? leads.data.counts[f.count] : '…'}</span>
            </Link>
          ))}
        </nav>
        <p className="hint keys">
          <kbd>j</kbd>/<kbd>k</kbd> next/previous · <kbd>/</kbd> search
        </p>
        <ErrorText error={leads.error} />
        {leads.data && !leads.data.data.length && <p className="empty">No leads here.</p>}
        <ul className="lead-list" aria-label="Leads" data-testid="lead-list">
          {leads.data?.data.map((lead) => (
            <li key={lead.id}>
              <Link
                to={`/app/leads/${lead.id}${suffix}`}
                id={`lead-${lead.id}`}
                className={`lead-item${lead.id === leadId ? ' selected' : ''}${lead.unread ? ' unread' : ''}`}
                aria-current={lead.id === leadId ? 'page' : undefined}
              >
                <span className="lead-name">
                  {lead.unread && <span className="unread-dot" title="Unread" aria-label="Unread" />}
                  {lead.callerName || phone(lead.callerPhone)}
                </span>
                <span className={`badge status-${lead.status}`}>{lead.status}</span>
                {lead.consent?.status === 'opted_out' && <span className="badge opted-out">opted out</span>}
                <span className="lead-owner" data-testid="lead-owner">
                  {ownerOf(lead, me)} <ResponseTimer lead={lead} now={now} />
                </span>
                <span className="lead-meta">
                  {lead.waitingSince ? (
                    <>waiting {since(lead.waitingSince)}</>
                  ) : (
                    <>last activity {timeOfDay(lead.lastActivityAt, me.timezone)}</>
                  )}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      </section>
      {leadId ? (
        <LeadPanes me={me} leadId={leadId} back={`/app/leads${suffix}`} />
      ) : (
        <section className="pane thread-pane empty-thread">
          <p>Select a lead to see its thread.</p>
        </section>
      )}
    </div>
  );
}

function LeadPanes({ me, leadId, back }: { me: Me; leadId: string; back: string }) {
  const queryClient = useQueryClient();
  const lead = useQuery({ queryKey: ['lead', leadId], queryFn: () => api<LeadDetail>(`/leads/${leadId}`) });
  const markedRead = useRef<string | null>(null);
  const now = useNow();
  useEffect(() => {
    if (lead.data?.unread && markedRead.current !== `${leadId}:${lead.data.lastActivityAt}`) {
      markedRead.current = `${leadId}:${lead.data.lastActivityAt}`;
      api(`/leads/${leadId}/read`, { method: 'POST' })
        .then(() => queryClient.invalidateQueries({ queryKey: ['leads'] }))
        .catch(() => {});
    }
  }, [lead.data, leadId, queryClient]);
  if (lead.isError) {
    return (
      <section className="pane thread-pane">
        <LoadError error={lead.error} role={me.role} what="lead" />
      </section>
    );
  }
  if (!lead.data)
    return (
      <section className="pane thread-pane">
        <p className="loading">Loading…</p>
      </section>
    );
  const l = lead.data;
  return (
    <>
      <section className="pane thread-pane" aria-labelledby="thread-title">
        <Link to={back} className="back">
          ← All leads
        </Link>
        <h2 id="thread-title">
          {l.callerName || phone(l.callerPhone)} <span className={`badge status-${l.status}`}>{l.status}</span>
          {l.consent?.status === 'opted_out' && <span className="badge opted-out">opted out</span>}
        </h2>
        <p className="thread-timer">
          <ResponseTimer lead={l} now={now} />
        </p>
        {l.consent?.status === 'opted_out' && (
          <p className="consent-note" data-testid="opted-out">
            Opted out of texts {l.consent.since ? when(l.consent.since, me.timezone) : ''} ({consentSource(l.consent.source)}).
          </p>
        )}
        <Conversation me={me} lead={l} />
        {me.role !== 'member' && (
          <p className="hint">
            <Link to={`/app/audit?stream=lead-${l.id}`}>Raw events of this lead (audit)</Link>
          </p>
        )}
        <Reply leadId={leadId} consent={l.consent} timezone={me.timezone} />
      </section>
      <aside className="pane details-pane" aria-label="Caller details">
        <CallerDetails me={me} lead={l} />
      </aside>
    </>
  );
}

/** How a caller opted out, in words. */
function consentSource(source: Consent['source']): string {
  switch (source) {
    case 'keyword':
      return 'texted STOP';
    case 'phrase':
      return 'asked by text to stop';
    case 'carrier':
      return 'the carrier reports them unsubscribed';
    case 'provider':
      return 'opted out through Twilio';
    case 'member':
      return 'recorded by the team';
    default:
      return 'unknown';
  }
}

function Reply({ leadId, consent, timezone }: { leadId: string; consent: Consent | undefined; timezone: string }) {
  const optedOut = consent?.status === 'opted_out';
  const queryClient = useQueryClient();
  const [body, setBody] = useState('');
  // One id per composed message: a double click or a retry sends the same id, and the server sends once.
  const [clientMessageId, setClientMessageId] = useState(() => crypto.randomUUID());
  const send = useMutation({
    mutationFn: () => api(`/leads/${leadId}/messages`, { method: 'POST', body: { body, clientMessageId } }),
    onSuccess: () => {
      setBody('');
      setClientMessageId(crypto.randomUUID());
      void queryClient.invalidateQueries({ queryKey: ['lead', leadId] });
      void queryClient.invalidateQueries({ queryKey: ['leads'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (body.trim()) send.mutate();
  };
  return (
    <form className="reply" onSubmit={submit}>
      <label htmlFor="reply-body">Reply by text</label>
      <textarea
        id="reply-body"
        rows={3}
        maxLength={1600}
        value={body}
        disabled={optedOut}
        aria-describedby={optedOut ? 'reply-disabled' : undefined}
        onChange={(e) => setBody(e.target.value)}
      />
      {optedOut && (
        <p id="reply-disabled" className="hint">
          Texting is off: this caller opted out{consent.since ? ` ${when(consent.since, timezone)}` : ''} ({consentSource(consent.source)}).
          Call them instead.
        </p>
      )}
      <ErrorText error={send.error} />
      <button type="submit" className="primary" disabled={optedOut || send.isPending || !body.trim()}>
        {send.isPending ? 'Sending…' : 'Send text'}
      </button>
    </form>
  );
}

function CallerDetails({ me, lead }: { me: Me; lead: LeadDetail }) {
  const open = (lead.openBookings ?? []).filter((b) => b.status === 'scheduled');
  const [calling, setCalling] = useState(false);
  return (
    <>
      <h2>Caller</h2>
      <AssignLead me={me} lead={lead} />
      <dl className="facts">
        <dt>Phone</dt>
        <dd>
          <a href={`tel:${lead.callerPhone}`} className="call" onClick={() => setCalling(true)}>
            Call back {phone(lead.callerPhone)}
          </a>
          {!calling && (
            <button type="button" className="link" onClick={() => setCalling(true)}>
              Log a call
            </button>
          )}
          {calling && <LogCall lead={lead} onDone={() => setCalling(false)} />}
        </dd>
        {lead.callerName && (
          <>
            <dt>Name</dt>
            <dd>{lead.callerName}</dd>
          </>
        )}
        <dt>Waiting since</dt>
        <dd>
          {lead.waitingSince ? `${when(lead.waitingSince, me.timezone)} (${since(lead.waitingSince)})` : 'not waiting: we replied last'}
        </dd>
        <dt>First contact</dt>
        <dd>{when(lead.createdAt, me.timezone)}</dd>
        <dt>Texts</dt>
        <dd data-testid="consent">
          {lead.consent?.status === 'opted_out'
            ? `opted out ${lead.consent.since ? when(lead.consent.since, me.timezone) : ''} (${consentSource(lead.consent.source)})`
            : lead.consent?.status === 'opted_in'
              ? 'opted in'
              : 'allowed in answer to their call or text'}
        </dd>
      </dl>
      {lead.consent?.status !== 'opted_out' && me.role !== 'auditor' && <RecordOptOut lead={lead} />}
      {lead.summary && (
        <section aria-labelledby="summary-title">
          <h3 id="summary-title">Summary</h3>
          <p>{describeHappened(lead.summary.happened)}</p>
          {lead.summary.lastContact && (
            <p>
              Last contact: {lead.summary.lastContact.kind.replace(/_/g, ' ')} ({lead.summary.lastContact.direction}),{' '}
              {ago(lead.summary.lastContact.at)}
            </p>
          )}
          {lead.summary.nextAction && lead.summary.nextAction.code !== 'none' && (
            <p className="next-action">
              <strong>Next:</strong> {lead.summary.nextAction.hint}
            </p>
          )}
        </section>
      )}
      <section aria-labelledby="bookings-title">
        <h3 id="bookings-title">Open bookings</h3>
        {open.length ? (
          <ul className="plain">
            {open.map((b) => (
              <li key={b.id}>
                <Link to={`/app/bookings/${b.id}`}>{when(b.window.start, me.timezone)}</Link>
              </li>
            ))}
          </ul>
        ) : (
          <p className="empty">None.</p>
        )}
      </section>
      <BookVisit me={me} lead={lead} />
      <MoveStatus lead={lead} />
    </>
  );
}

/** Who owns the lead: take it, hand it to a teammate, or unassign it (CONTRACT §10). */
function AssignLead({ me, lead }: { me: Me; lead: LeadDetail }) {
  const queryClient = useQueryClient();
  const people = useQuery({
    queryKey: ['assignees'],
    queryFn: () => api<{ data: { memberId: string; email: string; role: string }[] }>('/assignees'),
    staleTime: 60_000,
  });
  const assign = useMutation({
    mutationFn: (memberId: string | null) => api(`/leads/${lead.id}/assignee`, { method: 'POST', body: { memberId } }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['lead', lead.id] });
      void queryClient.invalidateQueries({ queryKey: ['leads'] });
    },
  });
  const current = lead.assignee?.memberId ?? '';
  return (
    <div className="assignee" data-testid="assignee">
      <label htmlFor="assignee-select">Assigned to</label>
      <div className="assignee-row">
        <select id="assignee-select" value={current} disabled={assign.isPending} onChange={(e) => assign.mutate(e.target.value || null)}>
          <option value="">Unassigned</option>
          {lead.assignee && !people.data?.data.some((p) => p.memberId === lead.assignee!.memberId) && (
            <option value={lead.assignee.memberId}>{lead.assignee.label}</option>
          )}
          {people.data?.data.map((p) => (
            <option key={p.memberId} value={p.memberId}>
              {p.memberId === me.memberId ? `${p.email} (you)` : p.email}
            </option>
          ))}
        </select>
        {current !== me.memberId && (
          <button type="button" disabled={assign.isPending} onClick={() => assign.mutate(me.memberId)}>
            Assign to me
          </button>
        )}
      </div>
      <ErrorText error={assign.error} />
    </div>
  );
}

/** After "Call back": one click logs how the call went (the team's first response when it is the first). */
function LogCall({ lead, onDone }: { lead: LeadDetail; onDone: () => void }) {
  const queryClient = useQueryClient();
  const log = useMutation({
    mutationFn: (outcome: 'reached' | 'voicemail' | 'no_answer') =>
      api(`/leads/${lead.id}/call-logs`, { method: 'POST', body: { outcome } }),
    onSuccess: () => {
      onDone();
      void queryClient.invalidateQueries({ queryKey: ['lead', lead.id] });
      void queryClient.invalidateQueries({ queryKey: ['leads'] });
    },
  });
  return (
    <div className="log-call" role="group" aria-labelledby="log-call-title">
      <p id="log-call-title">How did the call go?</p>
      <div className="log-call-buttons">
        <button type="button" disabled={log.isPending} onClick={() => log.mutate('reached')}>
          Reached them
        </button>
        <button type="button" disabled={log.isPending} onClick={() => log.mutate('voicemail')}>
          Left voicemail
        </button>
        <button type="button" disabled={log.isPending} onClick={() => log.mutate('no_answer')}>
          No answer
        </button>
        <button type="button" className="link" disabled={log.isPending} onClick={onDone}>
          Cancel
        </button>
      </div>
      <ErrorText error={log.error} />
    </div>
  );
}

/** A member records an opt-out the caller asked for (on the phone, in person); never an opt-in. */
function RecordOptOut({ lead }: { lead: LeadDetail }) {
  const queryClient = useQueryClient();
  const [asking, setAsking] = useState(false);
  const record = useMutation({
    mutationFn: () => api(`/leads/${lead.id}/consent`, { method: 'POST', body: { status: 'opted_out' } }),
    onSuccess: () => {
      setAsking(false);
      void queryClient.invalidateQueries({ queryKey: ['lead', lead.id] });
      void queryClient.invalidateQueries({ queryKey: ['leads'] });
    },
  });
  return (
    <div className="record-opt-out">
      {asking ? (
        <>
          <p>Stop all texts to {phone(lead.callerPhone)}? Only the caller can opt in again (by texting START).</p>
          <button type="button" className="danger" disabled={record.isPending} onClick={() => record.mutate()}>
            Yes, they asked us to stop texting
          </button>{' '}
          <button type="button" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" onClick={() => setAsking(true)}>
          Record opt-out
        </button>
      )}
      <ErrorText error={record.error} />
    </div>
  );
}

function describeHappened(h: { missedCalls: number; inboundTexts: number; outboundTexts: number; bookings: number }): string {
  const part = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return [
    part(h.missedCalls, 'missed call', 'missed calls'),
    part(h.inboundTexts, 'text in', 'texts in'),
    part(h.outboundTexts, 'text out', 'texts out'),
    part(h.bookings, 'booking', 'bookings'),
  ].join(' · ');
}

function MoveStatus({ lead }: { lead: LeadDetail }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<string>(lead.status === 'active' ? 'won' : 'active');
  const [reason, setReason] = useState('');
  const move = useMutation({
    mutationFn: () =>
      api(`/leads/${lead.id}/status`, { method: 'POST', body: { status, ...(reason.trim() && { reason: reason.trim() }) } }),
    onSuccess: () => {
      setReason('');
      void queryClient.invalidateQueries({ queryKey: ['lead', lead.id] });
      void queryClient.invalidateQueries({ queryKey: ['leads'] });
    },
  });
  return (
    <form className="card" onSubmit={(e) => (e.preventDefault(), move.mutate())} aria-labelledby="move-title">
      <h3 id="move-title">Move status</h3>
      <label htmlFor="move-status">New status</label>
      <select id="move-status" value={status} onChange={(e) => setStatus(e.target.value)}>
        {['active', 'booked', 'won', 'lost'].map((s) => (
          <option key={s} value={s}>
            {s[0]!.toUpperCase() + s.slice(1)}
          </option>
        ))}
      </select>
      <label htmlFor="move-reason">Reason</label>
      <input id="move-reason" value={reason} maxLength={1000} onChange={(e) => setReason(e.target.value)} />
      <ErrorText error={move.error} />
      <button type="submit" disabled={move.isPending}>
        Move
      </button>
    </form>
  );
}

interface Availability {
  timezone: string;
  windows: { start: string; end: string; remaining: number }[];
}

function BookVisit({ me, lead }: { me: Me; lead: LeadDetail }) {
  const queryClient = useQueryClient();
  const { navigate } = useRouter();
  const tomorrow = DateTime.now().setZone(me.timezone).plus({ days: 1 }).toISODate()!;
  const [name, setName] = useState(lead.callerName ?? '');
  const [local, setLocal] = useState<LocalWindow>({ date: tomorrow, start: '09:00', end: '11:00' });
  const [slot, setSlot] = useState('');
  const [summary, setSummary] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [key] = useState(() => crypto.randomUUID());
  const from = DateTime.now().toUTC().startOf('hour');
  const availability = useQuery({
    queryKey: ['availability', from.toISO()],
    queryFn: () =>
      api<Availability>(`/availability?from=${encodeURIComponent(from.toISO())}&to=${encodeURIComponent(from.plus({ days: 7 }).toISO())}`),
    retry: false,
    staleTime: 60_000,
  });
  const windows = availability.data?.windows.filter((w) => w.remaining > 0) ?? [];
  const book = useMutation({
    mutationFn: (window: { start: string; end: string }) =>
      api<Booking>('/bookings', {
        method: 'POST',
        headers: { 'idempotency-key': key },
        body: {
          leadId: lead.id,
          window,
          customer: { name: name.trim(), phone: lead.callerPhone },
          ...(summary.trim() && { service: { type: 'visit', summary: summary.trim() } }),
        },
      }),
    onSuccess: (booking) => {
      void queryClient.invalidateQueries();
      navigate(`/app/bookings/${booking.id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    let window: { start: string; end: string } | null = null;
    if (slot) {
      const w = windows.find((w) => w.start === slot);
      if (w) window = { start: w.start, end: w.end };
    } else {
      window = windowOf(local, me.timezone);
    }
    if (!window) return void setError('choose a date and a time window');
    if (!name.trim()) return void setError('enter the customer name');
    book.mutate(window);
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="book-title">
      <h3 id="book-title">Book a visit</h3>
      <label htmlFor="book-name">Customer name</label>
      <input id="book-name" value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
      {windows.length > 0 && (
        <>
          <label htmlFor="book-slot">Open window</label>
          <select id="book-slot" value={slot} onChange={(e) => setSlot(e.target.value)}>
            <option value="">Pick a time below instead</option>
            {windows.slice(0, 40).map((w) => (
              <option key={w.start} value={w.start}>
                {when(w.start, me.timezone)} – {timeOfDay(w.end, me.timezone)} ({w.remaining} left)
              </option>
            ))}
          </select>
        </>
      )}
      {!slot && <WindowFields id="book" value={local} onChange={setLocal} />}
      <p className="hint">Times in {zoneName(me.timezone)}.</p>
      <label htmlFor="book-summary">What for (optional)</label>
      <input id="book-summary" value={summary} maxLength={500} onChange={(e) => setSummary(e.target.value)} />
      <ErrorText message={error} error={book.error} />
      <button type="submit" className="primary" disabled={book.isPending}>
        Book visit
      </button>
      {availability.isError && !(availability.error instanceof ApiError && availability.error.status === 404) && (
        <p className="hint">Availability could not be loaded: {describeError(availability.error)}</p>
      )}
    </form>
  );
}
