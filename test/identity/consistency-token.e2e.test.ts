// Consistency-Token amplification (issue 21 item 6): a token past the store's newest event is refused at
// once (400), a real one waits woken by the checkpoint's move (not by polling the checkpoint table), and
// the internal API and the web app's session routes are limited per member (429 with Retry-After).
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { addMember } from '../../src/commands/orgs.ts';
import { setMemberPassword } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';
import { settle } from '../webhooks/fixtures/providers.ts';

// No live projectors: a write's token stays pending until the test catches the read models up.
const ctx = await testApp(t);
const { app, database } = ctx;
const orgId = await ctx.createOrg();
const integration = await ctx.token(orgId);
const member = await ctx.memberToken(orgId, 'member');
const bearer = (token: string, consistency?: string) => ({
  authorization: `Bearer ${token}`,
  ...(consistency && { 'consistency-token': consistency }),
});
const visit = {
  customer: { name: 'Dana Diaz', phone: '+15125550199' },
  window: { start: '2031-06-02T15:00:00Z', end: '2031-06-02T17:00:00Z' },
};

t.test('a token past the newest event is refused at once with 400, on the protected and the internal API', async (t) => {
  const far = '9223372036854775807.0';
  for (const [url, token] of [
    ['/api/private/v1/bookings?from=2031-06-01T00:00:00Z&to=2031-07-01T00:00:00Z', integration.token],
    ['/api/internal/v1/leads', member.token],
  ] as const) {
    const started = Date.now();
    const res = await app.inject({ method: 'GET', url, headers: bearer(token, far) });
    t.equal(res.statusCode, 400, url);
    t.match(res.json().detail, /past the newest event/);
    t.ok(Date.now() - started < 1000, 'answered without waiting');
  }
});

t.test('a pending token waits without polling the checkpoints, and is woken when the read model moves', async (t) => {
  const created = await app.inject({ method: 'POST', url: '/api/private/v1/bookings', headers: bearer(integration.token), payload: visit });
  t.equal(created.statusCode, 201, created.body);
  const token = created.headers['consistency-token'] as string;
  let queries = 0;
  const count = () => queries++;
  database.pool.on('acquire', count);
  const reading = app.inject({
    method: 'GET',
    url: `/api/private/v1/bookings/${created.json().id}`,
    headers: bearer(integration.token, token),
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  database.pool.off('acquire', count);
  // Polling every 15 ms would have read the checkpoints about 100 times by now.
  t.ok(queries <= 10, `${queries} queries while waiting 1.5 s`);
  await ctx.catchUpAll();
  const caughtUp = Date.now();
  const res = await reading;
  t.equal(res.statusCode, 200, res.body);
  t.ok(Date.now() - caughtUp < 900, `answered ${Date.now() - caughtUp} ms after the read models caught up: woken by the move`);
});

t.test('the internal API and the session routes are limited per member: 429 with Retry-After; others unaffected', async (t) => {
  const limited = await testApp(t, { server: { memberRateLimit: { max: 3, timeWindowMs: 60_000 } } });
  const org = await limited.createOrg();
  const busy = await limited.memberToken(org, 'member');
  const calm = await limited.memberToken(org, 'member');
  const leads = (token?: string) =>
    limited.app.inject({ method: 'GET', url: '/api/internal/v1/leads', headers: token ? bearer(token) : {} });
  for (let i = 0; i < 3; i++) t.equal((await leads(busy.token)).statusCode, 200);
  const refused = await leads(busy.token);
  t.equal(refused.statusCode, 429);
  t.equal(refused.json().code, 'rate_limited');
  t.ok(Number(refused.headers['retry-after']) > 0);
  t.equal((await leads(calm.token)).statusCode, 200, 'another member has their own budget');
  t.equal((await leads()).statusCode, 401, 'no token: refused before any budget');

  const memberId = randomUUID();
  const email = 'web@example.com';
  const PASSWORD = 'correct horse battery staple';
  await addMember(limited.services, operator(org), { orgId: org, memberId, email, role: 'member' });
  await setMemberPassword(limited.services, { orgId: org, memberId, email, password: PASSWORD });
  await settle(limited);
  const signIn = await limited.app.inject({ method: 'POST', url: '/app/session', payload: { email, password: PASSWORD } });
  const cookie = /cs_session=([^;]+)/.exec(String(signIn.headers['set-cookie']))![1]!;
  const me = () => limited.app.inject({ method: 'GET', url: '/app/session', cookies: { cs_session: cookie } });
  for (let i = 0; i < 3; i++) t.equal((await me()).statusCode, 200);
  t.equal((await me()).statusCode, 429, 'the web session routes too');
});
