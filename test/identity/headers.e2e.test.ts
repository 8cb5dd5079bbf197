// Transport protections (issue 21 item 11): over https the session cookie is `__Host-` prefixed and
// `Secure`, HSTS is sent, and every response (not only the page) carries `nosniff` and a CSP: the page its
// own, everything else one that allows nothing. The live feed's hijacked stream carries them too.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { addMember } from '../../src/commands/orgs.ts';
import { setMemberPassword } from '../../src/identity/index.ts';
import { API_CSP } from '../../src/http/common/security-headers.ts';
import { operator, testApp } from '../support/app.ts';
import { openSse } from '../web/sse-client.ts';
import { settle } from '../webhooks/fixtures/providers.ts';

const PASSWORD = 'correct horse battery staple';

t.test('over https: __Host- session cookie with Secure, HSTS and nosniff on API answers', async (t) => {
  const ctx = await testApp(t, { env: { PUBLIC_BASE_URL: 'https://app.example.com' } });
  const orgId = await ctx.createOrg();
  const memberId = randomUUID();
  await addMember(ctx.services, operator(orgId), { orgId, memberId, email: 'a@example.com', role: 'member' });
  await setMemberPassword(ctx.services, { orgId, memberId, email: 'a@example.com', password: PASSWORD });
  await settle(ctx);
  const res = await ctx.app.inject({ method: 'POST', url: '/app/session', payload: { email: 'a@example.com', password: PASSWORD } });
  t.equal(res.statusCode, 201);
  const cookie = String(res.headers['set-cookie']);
  t.match(cookie, /^__Host-cs_session=[^;]+;.*Path=\/.*Secure/);
  t.notMatch(cookie, /Domain=/i);
  t.match(res.headers['strict-transport-security'], /max-age=\d+/);
  const id = /__Host-cs_session=([^;]+)/.exec(cookie)![1]!;
  const me = await ctx.app.inject({ method: 'GET', url: '/app/session', cookies: { '__Host-cs_session': id } });
  t.equal(me.statusCode, 200, 'the prefixed cookie signs in');
  t.equal(me.headers['x-content-type-options'], 'nosniff');
  const api = await ctx.app.inject({ method: 'GET', url: '/api/internal/v1/leads' });
  t.equal(api.statusCode, 401);
  t.equal(api.headers['x-content-type-options'], 'nosniff', 'an error answer too');
  t.match(api.headers['strict-transport-security'], /max-age/);
  t.equal(api.headers['content-security-policy'], API_CSP, 'an API answer may load nothing and is never framed');
});

t.test('the page keeps its own CSP; JSON answers get the API one', async (t) => {
  const ctx = await testApp(t);
  const page = await ctx.app.inject({ method: 'GET', url: '/app/leads' });
  t.match(page.headers['content-security-policy'], /script-src 'self'/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  const health = await ctx.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.headers['content-security-policy'], API_CSP);
  const missing = await ctx.app.inject({ method: 'GET', url: '/no/such/route' });
  t.equal(missing.headers['content-security-policy'], API_CSP, 'a 404 too');
});

t.test('over https the live feed (a hijacked stream) carries nosniff, the CSP and HSTS', async (t) => {
  const ctx = await testApp(t, { env: { PUBLIC_BASE_URL: 'https://app.example.com' } });
  const orgId = await ctx.createOrg();
  const { token } = await ctx.memberToken(orgId, 'member');
  const base = await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  const feed = await openSse(`${base}/app/events`, { authorization: `Bearer ${token}` });
  t.teardown(() => feed.close());
  t.equal(feed.status, 200);
  t.equal(feed.headers['content-type'], 'text/event-stream; charset=utf-8');
  t.equal(feed.headers['x-content-type-options'], 'nosniff');
  t.equal(feed.headers['content-security-policy'], API_CSP);
  t.match(feed.headers['strict-transport-security'], /max-age=\d+/);
});

t.test('over plain http (development): no HSTS, the plain cookie name', async (t) => {
  const ctx = await testApp(t);
  const res = await ctx.app.inject({ method: 'GET', url: '/api/internal/v1/leads' });
  t.notOk(res.headers['strict-transport-security']);
  t.equal(res.headers['x-content-type-options'], 'nosniff');
});
