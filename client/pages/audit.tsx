import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../api.ts';
import { toInstant, when, zoneName } from '../format.ts';
import type { Actor, Me } from '../types.ts';
import { useRouter } from '../router.tsx';
import { LoadError } from './problems.tsx';
import { ErrorText } from '../error-text.tsx';

interface AuditEvent {
  position: string;
  streamId: string;
  revision: number;
  id: string;
  type: string;
  occurredAt: string;
  actor: Actor;
  summary: string;
}

interface Filters {
  stream: string;
  type: string;
  actor: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { stream: '', type: '', actor: '', since: '', until: '' };

/** Local "YYYY-MM-DDTHH:mm" in the org's zone → ISO instant. */
const instantOf = (local: string, zone: string) => (local ? toInstant(local.slice(0, 10), local.slice(11, 16), zone) : null);

/** The org's event timeline with filters, and one stream's state as of an instant (read-only). */
export function AuditPage({ me }: { me: Me }) {
  // `?stream=lead-<id>` (the lead thread's "raw events" link) opens filtered on that stream.
  const { search } = useRouter();
  const [draft, setDraft] = useState<Filters>(() => ({ ...EMPTY, stream: search.get('stream') ?? '' }));
  const [filters, setFilters] = useState<Filters>(() => ({ ...EMPTY, stream: search.get('stream') ?? '' }));
  const params = new URLSearchParams({ limit: '100' });
  if (filters.stream.trim()) params.set('stream', filters.stream.trim());
  if (filters.type.trim()) params.set('type', filters.type.trim());
  if (filters.actor.trim()) params.set('actor', filters.actor.trim());
  const since = instantOf(filters.since, me.timezone);
  const until = instantOf(filters.until, me.timezone);
  if (since) params.set('since', since);
  if (until) params.set('until', until);
  const events = useInfiniteQuery({
    queryKey: ['audit', params.toString()],
    queryFn: ({ pageParam }) =>
      api<{ data: AuditEvent[]; nextCursor: string | null }>(
        `/audit/events?${params}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  if (events.isError && !events.data) return <LoadError error={events.error} role={me.role} />;
  const field = (key: keyof Filters) => ({
    value: draft[key],
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };
  return (
    <div className="audit">
      <h1>Audit timeline</h1>
      <p className="hint">Read-only. Times in {zoneName(me.timezone)}.</p>
      <form className="card filters-form" onSubmit={submit} aria-label="Filter events">
        <div className="row wrap">
          <div>
            <label htmlFor="audit-stream">Stream</label>
            <input id="audit-stream" placeholder="lead-…" {...field('stream')} />
          </div>
          <div>
            <label htmlFor="audit-type">Event type</label>
            <input id="audit-type" placeholder="MissedCallRecorded" {...field('type')} />
          </div>
          <div>
            <label htmlFor="audit-actor">Actor</label>
            <input id="audit-actor" placeholder="id or label" {...field('actor')} />
          </div>
          <div>
            <label htmlFor="audit-since">From</label>
            <input id="audit-since" type="datetime-local" {...field('since')} />
          </div>
          <div>
            <label htmlFor="audit-until">Until</label>
            <input id="audit-until" type="datetime-local" {...field('until')} />
          </div>
        </div>
        <button type="submit">Apply filters</button>
      </form>
      <ErrorText error={events.error} />
      <table className="table audit-table" data-testid="audit-events">
        <caption className="sr-only">Events, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Type</th>
            <th scope="col">Actor</th>
            <th scope="col">Stream</th>
            <th scope="col">Summary</th>
          </tr>
        </thead>
        <tbody>
          {events.data?.pages
            .flatMap((p) => p.data)
            .map((e) => (
              <tr key={`${e.streamId}-${e.revision}`}>
                <td>{when(e.occurredAt, me.timezone)}</td>
                <td>{e.type}</td>
                <td>
                  {e.actor.label} <span className="muted">({e.actor.type})</span>
                </td>
                <td>
                  <button
                    type="button"
                    className="link mono"
                    onClick={() => setDraft({ ...draft, stream: e.streamId })}
                    title="Filter by this stream"
                  >
                    {e.streamId}
                  </button>
                </td>
                <td>{e.summary}</td>
              </tr>
            ))}
        </tbody>
      </table>
      {events.hasNextPage && (
        <button type="button" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
          Load more
        </button>
      )}
      <StateAsOf me={me} />
    </div>
  );
}

function StateAsOf({ me }: { me: Me }) {
  const [stream, setStream] = useState('');
  const [asOf, setAsOf] = useState('');
  const [asked, setAsked] = useState<{ stream: string; asOf: string } | null>(null);
  const state = useQuery({
    queryKey: ['audit-state', asked],
    enabled: !!asked,
    queryFn: () =>
      api<{ stream: string; revision: number; state: unknown }>(
        `/audit/state?stream=${encodeURIComponent(asked!.stream)}&asOf=${encodeURIComponent(asked!.asOf)}`,
      ),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const at = /^\d+(\.\d+)?$/.test(asOf.trim()) ? asOf.trim() : (instantOf(asOf, me.timezone) ?? new Date().toISOString());
    setAsked({ stream: stream.trim(), asOf: at });
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="state-title">
      <h2 id="state-title">A stream's state as of an instant</h2>
      <div className="row wrap">
        <div>
          <label htmlFor="state-stream">Stream</label>
          <input id="state-stream" required placeholder="lead-…" value={stream} onChange={(e) => setStream(e.target.value)} />
        </div>
        <div>
          <label htmlFor="state-asof">As of</label>
          <input id="state-asof" type="datetime-local" value={asOf} onChange={(e) => setAsOf(e.target.value)} />
        </div>
      </div>
      <button type="submit">Show state</button>
      <ErrorText error={state.error} />
      {state.data && (
        <pre className="state" data-testid="stream-state" tabIndex={0} aria-label="Stream state">
          {JSON.stringify(state.data, null, 2)}
        </pre>
      )}
    </form>
  );
}
