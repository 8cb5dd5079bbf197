import { randomUUID } from 'node:crypto';
import t from 'tap';
import { recordFigure } from '../support/figures.ts';
import { testApp } from '../support/app.ts';

const API = '/api/private/v1';

t.test('200 concurrent creates sharing 50 Idempotency-Keys make exactly 50 bookings and no 5xx', async (t) => {
  const ctx = await testApp(t, { liveProjectors: true, server: { rateLimit: { max: 100_000, timeWindowMs: 60_000 } } });
  const orgId = await ctx.createOrg();
  const { token } = await ctx.token(orgId);
  const keys = Array.from({ length: 50 }, (_, i) => `load-${i}-${randomUUID()}`);
  const started = Date.now();
  const bodyFor = (i: number) => ({
    customer: { name: `Caller ${i}`, phone: `+1512555${String(1000 + i)}` },
    window: { start: new Date(Date.UTC(2031, 0, 1 + i, 15)).toISOString(), end: new Date(Date.UTC(2031, 0, 1 + i, 17)).toISOString() },
  });
  // Listen on a real socket so the load goes through the whole HTTP stack.
  const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const responses = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const k = i % 50;
      const res = await fetch(`${address}${API}/bookings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': keys[k]! },
        body: JSON.stringify(bodyFor(k)),
      });
      return { status: res.status, key: k, body: (await res.json()) as { id?: string; code?: string } };
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  const fiveXx = responses.filter((r) => r.status >= 500);
  t.equal(fiveXx.length, 0, 'no 5xx');
  t.ok(
    responses.every((r) => r.status === 201 || (r.status === 409 && r.body.code === 'idempotency_request_in_progress')),
    'only 201 or 409 in-progress',
  );
  const idsPerKey = new Map<number, Set<string>>();
  for (const r of responses.filter((x) => x.status === 201)) idsPerKey.set(r.key, (idsPerKey.get(r.key) ?? new Set()).add(r.body.id!));
  t.ok(
    [...idsPerKey.values()].every((ids) => ids.size === 1),
    'one booking id per key',
  );
  const { rows } = await ctx.database.pool.query<{ n: number }>(
    "select count(*)::int as n from es_events where event_type = 'BookingCreated'",
  );
  t.equal(rows[0]!.n, 50, 'exactly 50 BookingCreated events');
  for (let i = 0; i < 100; i++) {
    const { rows: projected } = await ctx.database.pool.query<{ n: number }>('select count(*)::int as n from bookings');
    if (projected[0]!.n === 50) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const { rows: projected } = await ctx.database.pool.query<{ n: number }>('select count(*)::int as n from bookings');
  t.equal(projected[0]!.n, 50, 'exactly 50 bookings in the read model');
  recordFigure(t, 'load', {
    requests: 200,
    keys: 50,
    created: responses.filter((r) => r.status === 201).length,
    inProgress409: responses.filter((r) => r.status === 409).length,
    fiveXx: fiveXx.length,
    bookings: projected[0]!.n,
    seconds: elapsed.toFixed(2),
  });
});
