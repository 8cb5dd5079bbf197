import pg from 'pg';
import t from 'tap';
import { GAUGE_CACHE_MS } from '../../src/http/plugins/metrics.ts';
import { testApp, testClock } from '../support/app.ts';

/** Statements sent to PostgreSQL by this process (every pool client is a pg.Client). */
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;
t.teardown(() => {
  pg.Client.prototype.query = query;
});

const clock = testClock();
const ctx = await testApp(t, { clock, env: { METRICS_PUBLIC: '1' } });
const org = await ctx.createOrg();
const { token } = await ctx.token(org);

const METRICS_TOKEN = 'metrics-0123456789abcdef';
const guarded = await testApp(t, { env: { METRICS_TOKEN } });

t.test('GET /metrics exposes requests by route and status, projection lag and events appended', async (t) => {
  await ctx.app.inject({ method: 'GET', url: '/api/private/v1/health', headers: { authorization: `Bearer ${token}` } });
  await ctx.app.inject({ method: 'GET', url: '/api/private/v1/health' });
  const res = await ctx.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  t.match(res.body, /callsnare_http_requests_total\{method="GET",route="\/api\/private\/v1\/health",status="200"\} 1/);
  t.match(res.body, /callsnare_http_requests_total\{method="GET",route="\/api\/private\/v1\/health",status="401"\} 1/);
  t.match(res.body, /callsnare_projection_lag_events\{projection="bookings"\} 0/);
  t.match(res.body, /callsnare_events_appended [1-9]/);
  t.notMatch(res.body, token, 'no secret in metrics');
});

t.test('a burst of scrapes reads the database gauges once; they are read again after the cache window', async (t) => {
  clock.advance(GAUGE_CACHE_MS);
  let before = statements;
  const first = await ctx.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(first.statusCode, 200);
  const oneScrape = statements - before;
  t.ok(oneScrape >= 1 && oneScrape <= 3, `one scrape costs at most 3 statements whatever the number of projections (${oneScrape})`);

  before = statements;
  const burst = await Promise.all(Array.from({ length: 25 }, () => ctx.app.inject({ method: 'GET', url: '/metrics' })));
  for (let i = 0; i < 5; i++) await ctx.app.inject({ method: 'GET', url: '/metrics' });
  t.ok(burst.every((r) => r.statusCode === 200));
  t.equal(statements - before, 0, '30 more scrapes within the window: no statement at all');

  // A new event shows in the next window, not before.
  await ctx.createOrg();
  const appended = (body: string) => Number(/callsnare_events_appended (\d+)/.exec(body)![1]);
  const stale = await ctx.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(appended(stale.body), appended(first.body), 'within the window the cached figure is served');
  clock.advance(GAUGE_CACHE_MS);
  before = statements;
  const fresh = await ctx.app.inject({ method: 'GET', url: '/metrics' });
  t.ok(statements - before >= 1 && statements - before <= 3, 'after the window one scrape reads again');
  t.ok(appended(fresh.body) > appended(first.body), 'and sees the new event');
});

t.test('with METRICS_TOKEN set, /metrics needs it as a Bearer token (401 problem otherwise)', async (t) => {
  const none = await guarded.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(none.statusCode, 401);
  t.match(none.headers['content-type'], /^application\/problem\+json/);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="callsnare-metrics"');
  t.notMatch(none.body, /callsnare_http_requests_total/);

  for (const wrong of [`${METRICS_TOKEN}x`, METRICS_TOKEN.slice(0, -1), 'x', token]) {
    const res = await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${wrong}` } });
    t.equal(res.statusCode, 401, 'a wrong token is refused');
    t.equal(res.headers['www-authenticate'], 'Bearer realm="callsnare-metrics", error="invalid_token"');
    t.match(res.json(), { status: 401, code: 'unauthorized' });
  }
  const basic = await guarded.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` },
  });
  t.equal(basic.statusCode, 401, 'only a Bearer token counts');

  const ok = await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  t.equal(ok.statusCode, 200);
  t.match(ok.body, /callsnare_http_requests_total\{method="GET",route="\/metrics",status="401"\}/);
  t.notMatch(ok.body, METRICS_TOKEN, 'the token never shows');

  const open = await ctx.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(open.statusCode, 200, 'without METRICS_TOKEN /metrics stays open');
});

t.test('without METRICS_TOKEN or METRICS_PUBLIC=1, /metrics is not served', async (t) => {
  const closed = await testApp(t);
  t.equal((await closed.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
});
