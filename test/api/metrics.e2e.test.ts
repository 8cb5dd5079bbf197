import t from 'tap';
import { testApp } from '../support/app.ts';

const ctx = await testApp(t);
const org = await ctx.createOrg();
const { token } = await ctx.token(org);

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
