import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { recordFigure } from '../support/figures.ts';
import { testApp } from '../support/app.ts';

const API = '/api/private/v1';
const ctx = await testApp(t, { server: { rateLimit: { max: 1_000_000, timeWindowMs: 60_000 } } });
const orgA = await ctx.createOrg();
const orgB = await ctx.createOrg();
const a = await ctx.token(orgA);
const b = await ctx.token(orgB);
const created = await ctx.app.inject({
  method: 'POST',
  url: `${API}/bookings`,
  headers: { authorization: `Bearer ${a.token}` },
  payload: { customer: { name: 'Real', phone: '+15125550100' }, window: { start: '2031-05-01T15:00:00Z', end: '2031-05-01T16:00:00Z' } },
});
const bookingId = created.json().id as string;
await ctx.catchUpAll();

/** Statuses the contract documents for a bad request (CONTRACT §3, plus 415 for a non-JSON body). */
const DOCUMENTED = new Set([400, 401, 403, 404, 409, 412, 413, 415, 429]);

async function eventCount(): Promise<number> {
  const { rows } = await ctx.database.pool.query<{ n: number }>('select count(*)::int as n from es_events');
  return rows[0]!.n;
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const almostBooking = fc.record(
  {
    customer: fc.oneof(jsonValue, fc.record({ name: fc.string(), phone: fc.string() }, { requiredKeys: [] })),
    window: fc.oneof(jsonValue, fc.record({ start: fc.oneof(fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())), end: fc.string() }, { requiredKeys: [] })),
    timezone: fc.string(),
    status: fc.constantFrom('canceled', 'scheduled', 'done', ''),
    extra: jsonValue,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(jsonValue, almostBooking);
const headerValue = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('"1"', '*', 'W/"2"', '', ' '));
const headers = fc.record(
  {
    'idempotency-key': headerValue,
    'if-match': headerValue,
    'consistency-token': fc.oneof(headerValue, fc.constant('1.1')),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8'),
  },
  { requiredKeys: [] },
);
const pathSegment = fc.oneof(fc.constant(bookingId), fc.uuid(), fc.string({ maxLength: 40 }).map(encodeURIComponent));
const query = fc.dictionary(fc.constantFrom('from', 'to', 'status', 'limit', 'cursor', 'junk'), fc.oneof(fc.string({ maxLength: 40 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())));
const route = fc.constantFrom('POST /bookings', 'PATCH /bookings/:id', 'GET /bookings', 'GET /bookings/:id', 'GET /health');
const auth = fc.constantFrom('a', 'none', 'garbage');

t.test('random bodies, headers, paths and queries only ever get documented 4xx and append nothing', async (t) => {
  const before = await eventCount();
  const statuses = new Map<number, number>();
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(route, body, headers, pathSegment, query, auth, async (r, payload, hdrs, segment, q, who) => {
      tried++;
      const [method, template] = r.split(' ') as [string, string];
      const url = `${API}${template.replace(':id', segment)}${method === 'GET' ? `?${new URLSearchParams(q as Record<string, string>)}` : ''}`;
      const authorization = who === 'a' ? `Bearer ${a.token}` : who === 'garbage' ? 'Bearer cs_live_garbage' : undefined;
      const res = await ctx.app.inject({
        method: method as 'GET' | 'POST' | 'PATCH',
        url,
        headers: { ...hdrs, ...(authorization && { authorization }) },
        ...(method !== 'GET' && { payload: JSON.stringify(payload) }),
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500) throw new Error(`${method} ${url} → ${res.statusCode}: ${res.body}`);
      if (res.statusCode >= 400) {
        if (!DOCUMENTED.has(res.statusCode)) throw new Error(`${method} ${url} → undocumented ${res.statusCode}`);
        if (!/^application\/problem\+json/.test(String(res.headers['content-type']))) throw new Error(`${res.statusCode} without problem+json`);
      }
      return true;
    }),
    { numRuns: 600, seed: 20261124 },
  );
  // Valid random writes are possible in principle (a random PATCH that cancels the real booking); none
  // may come from an invalid request, so only that booking's stream may have grown.
  const { rows } = await ctx.database.pool.query<{ n: number }>("select count(*)::int as n from es_events where stream_id <> $1", [`booking-${bookingId}`]);
  t.equal(rows[0]!.n, before - 1, 'no event appended outside the one real booking');
  t.ok(![...statuses.keys()].some((s) => s >= 500), 'never a 5xx');
  recordFigure(t, 'bad-input', { inputsTried: tried, ...Object.fromEntries([...statuses.entries()].map(([s, n]) => [`status${s}`, n])) });
});

t.test("another org's token against every route gets 404 or 403, never the resource", async (t) => {
  const before = await eventCount();
  const cases = [
    { method: 'GET' as const, url: `${API}/bookings/${bookingId}` },
    { method: 'PATCH' as const, url: `${API}/bookings/${bookingId}`, payload: { status: 'canceled' } },
    { method: 'PATCH' as const, url: `${API}/bookings/${bookingId}`, payload: { window: { start: '2031-05-02T15:00:00Z', end: '2031-05-02T16:00:00Z' } } },
  ];
  for (const c of cases) {
    const res = await ctx.app.inject({ ...c, headers: { authorization: `Bearer ${b.token}` } });
    t.ok([403, 404].includes(res.statusCode), `${c.method} ${c.url} → ${res.statusCode}`);
    t.notMatch(res.body, bookingId, 'the response never carries the resource');
  }
  const list = await ctx.app.inject({ method: 'GET', url: `${API}/bookings?from=2031-04-01T00:00:00Z&to=2031-06-01T00:00:00Z`, headers: { authorization: `Bearer ${b.token}` } });
  t.same(list.json().data, [], "B's list is empty");
  t.equal(await eventCount(), before, 'nothing appended');
  const fresh = randomUUID();
  const absent = await ctx.app.inject({ method: 'GET', url: `${API}/bookings/${fresh}`, headers: { authorization: `Bearer ${b.token}` } });
  const theirs = await ctx.app.inject({ method: 'GET', url: `${API}/bookings/${bookingId}`, headers: { authorization: `Bearer ${b.token}` } });
  t.equal(absent.json().detail, theirs.json().detail, 'absent and foreign look the same');
  recordFigure(t, 'tenancy', { routesTried: cases.length + 1, leaks: 0 });
});
