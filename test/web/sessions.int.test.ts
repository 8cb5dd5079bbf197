// Sessions, CSRF, throttling and invites through the real HTTP stack (app.inject) on a real database,
// with a clock the test moves: what the browser tests cannot reach quickly (expiry, races, limits).
import t from 'tap';
import { operator, testApp, testClock } from '../support/app.ts';
import { createInvite, upsertLogin } from '../../src/identity/index.ts';
import { setMemberPassword, ensureMember } from '../../src/identity/index.ts';
import { hashPassword, verifyPassword } from '../../src/identity/index.ts';
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from '../../src/identity/index.ts';
import { ACCOUNT_LIMIT, ADDRESS_LIMIT, WINDOW_MS } from '../../src/identity/index.ts';

const clock = testClock('2026-12-01T15:00:00.000Z');
const ctx = await testApp(t, { clock });
const { app, services } = ctx;
const orgId = await ctx.createOrg({ name: 'Acme HVAC' });
const PASSWORD = 'correct horse battery staple';

async function person(email: string, role: 'owner' | 'admin' | 'member' | 'auditor' = 'member') {
  const member = await ensureMember(services, operator(orgId), { orgId, email, role });
  await ctx.catchUpAll();
  await setMemberPassword(services, { orgId, memberId: member.memberId, email, password: PASSWORD });
  return member.memberId;
}

async function signIn(email: string, password = PASSWORD, ip = '10.0.0.1') {
  const res = await app.inject({ method: 'POST', url: '/app/session', payload: { email, password }, remoteAddress: ip });
  const cookie = /cs_session=([^;]+)/.exec(String(res.headers['set-cookie'] ?? ''))?.[1];
  return { res, cookie };
}

const me = (cookie: string) => app.inject({ method: 'GET', url: '/app/session', cookies: { cs_session: cookie } });

t.test('passwords are scrypt hashes that verify only the same password', async (t) => {
  const hash = await hashPassword(PASSWORD);
  t.match(hash, /^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  t.ok(await verifyPassword(PASSWORD, hash));
  t.notOk(await verifyPassword(`${PASSWORD}!`, hash));
  t.notOk(await verifyPassword(PASSWORD, 'plain'), 'a malformed hash never matches');
  t.not(await hashPassword(PASSWORD), hash, 'a fresh salt each time');
});

t.test('a session expires after 12 idle hours, and after 7 days however active', async (t) => {
  await person('idle@acme.test');
  const first = await signIn('idle@acme.test');
  t.equal(first.res.statusCode, 201);
  t.match(String(first.res.headers['set-cookie']), /HttpOnly; SameSite=Lax/);
  clock.advance(SESSION_IDLE_MS - 60_000);
  t.equal((await me(first.cookie!)).statusCode, 200, 'still alive just before the idle limit');
  clock.advance(SESSION_IDLE_MS + 1000);
  t.equal((await me(first.cookie!)).statusCode, 401, 'idle too long');

  const second = await signIn('idle@acme.test');
  const step = SESSION_IDLE_MS / 2;
  const steps = Math.floor(SESSION_ABSOLUTE_MS / step) - 1;
  let alive = true;
  for (let i = 0; i < steps && alive; i++) {
    clock.advance(step);
    alive = (await me(second.cookie!)).statusCode === 200;
  }
  t.ok(alive, `kept alive by use for ${(steps * step) / 3600_000} hours`);
  clock.advance(step + 1000);
  t.equal((await me(second.cookie!)).statusCode, 401, 'past the absolute expiry');
});

t.test('the internal API takes the cookie with its CSRF token on writes; Bearer tokens work as before', async (t) => {
  await person('writer@acme.test', 'admin');
  const { cookie } = await signIn('writer@acme.test');
  const csrf = (await me(cookie!)).json().csrfToken as string;
  const put = (headers: Record<string, string>) =>
    app.inject({
      method: 'PUT',
      url: '/api/internal/v1/settings',
      cookies: { cs_session: cookie! },
      headers,
      payload: { crewCapacity: 5 },
    });
  const before = await ctx.database.pool.query(`select count(*)::int as n from es_events where event_type = 'OrgSettingsChanged'`);
  t.equal((await put({})).statusCode, 403);
  t.equal((await put({ 'x-csrf-token': `${csrf}x` })).statusCode, 403);
  const after = await ctx.database.pool.query(`select count(*)::int as n from es_events where event_type = 'OrgSettingsChanged'`);
  t.equal(after.rows[0].n, before.rows[0].n, 'no event without the token');
  t.equal((await put({ 'x-csrf-token': csrf })).statusCode, 200);
  t.equal(
    (await app.inject({ method: 'GET', url: '/api/internal/v1/settings', cookies: { cs_session: cookie! } })).statusCode,
    200,
    'reads need no token',
  );
  const token = await ctx.memberToken(orgId, 'admin');
  const bearer = await app.inject({ method: 'GET', url: '/api/internal/v1/settings', headers: { authorization: `Bearer ${token.token}` } });
  t.equal(bearer.statusCode, 200);
  const badBearer = await app.inject({
    method: 'GET',
    url: '/api/internal/v1/settings',
    headers: { authorization: 'Bearer nope' },
    cookies: { cs_session: cookie! },
  });
  t.equal(badBearer.statusCode, 401, 'an Authorization header is never second-guessed by the cookie');
});

t.test('sign-in from another origin, or not as JSON, is refused', async (t) => {
  await person('origin@acme.test');
  const foreign = await app.inject({
    method: 'POST',
    url: '/app/session',
    headers: { origin: 'https://evil.example' },
    payload: { email: 'origin@acme.test', password: PASSWORD },
  });
  t.equal(foreign.statusCode, 403);
  const form = await app.inject({
    method: 'POST',
    url: '/app/session',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `email=origin%40acme.test&password=${encodeURIComponent(PASSWORD)}`,
  });
  t.ok(form.statusCode >= 400 && form.statusCode < 500, `a form post is refused (${form.statusCode})`);
  t.notOk(form.headers['set-cookie']);
});

t.test('throttling: 5 failures lock the account for 15 minutes for that address; 30 lock the address; others are unaffected', async (t) => {
  await person('target@acme.test');
  await person('bystander@acme.test');
  for (let i = 0; i < ACCOUNT_LIMIT; i++) t.equal((await signIn('target@acme.test', 'wrong password', '10.0.0.2')).res.statusCode, 401);
  const locked = await signIn('target@acme.test', PASSWORD, '10.0.0.2');
  t.equal(locked.res.statusCode, 429, 'the account is locked for the address that failed, even with the right password');
  t.ok(Number(locked.res.headers['retry-after']) > 0);
  t.equal(
    (await signIn('bystander@acme.test', PASSWORD, '10.0.0.2')).res.statusCode,
    201,
    'another account from that address still signs in',
  );
  clock.advance(WINDOW_MS + 1000);
  t.equal((await signIn('target@acme.test', PASSWORD, '10.0.0.3')).res.statusCode, 201, 'the window slides');

  for (let i = 0; i < ADDRESS_LIMIT; i++) await signIn(`nobody${i}@acme.test`, 'wrong password', '10.0.0.9');
  t.equal((await signIn('bystander@acme.test', PASSWORD, '10.0.0.9')).res.statusCode, 429, 'the address is locked');
  t.equal((await signIn('bystander@acme.test', PASSWORD, '10.0.0.10')).res.statusCode, 201);
});

t.test('an invite is single-use even when two tabs accept it at once, and expires after 72 hours', async (t) => {
  const member = await ensureMember(services, operator(orgId), { orgId, email: 'invited@acme.test', role: 'member' });
  await upsertLogin(services.db, { orgId, memberId: member.memberId, email: 'invited@acme.test', passwordHash: null }, clock());
  const invite = await createInvite(services.db, { orgId, memberId: member.memberId, email: 'invited@acme.test', role: 'member' }, clock());
  const accept = (password: string) => app.inject({ method: 'POST', url: `/app/invitations/${invite.token}`, payload: { password } });
  t.equal((await accept('short')).statusCode, 400, 'a short password is refused and the invite stays open');
  const [a, b] = await Promise.all([accept('first long password'), accept('second long password')]);
  t.same([a.statusCode, b.statusCode].sort(), [201, 404]);
  const winner = a.statusCode === 201 ? 'first long password' : 'second long password';
  t.equal((await signIn('invited@acme.test', winner, '10.0.0.20')).res.statusCode, 201, "the winner's password is set");

  const late = await createInvite(services.db, { orgId, memberId: member.memberId, email: 'invited@acme.test', role: 'member' }, clock());
  clock.advance(72 * 3600_000 + 1000);
  t.equal((await app.inject({ method: 'GET', url: `/app/invitations/${late.token}` })).statusCode, 404);
  t.equal(
    (await app.inject({ method: 'POST', url: `/app/invitations/${late.token}`, payload: { password: 'a long password here' } })).statusCode,
    404,
  );
});

t.test("setting a new password ends the member's sessions", async (t) => {
  const memberId = await person('rotate@acme.test');
  const { cookie } = await signIn('rotate@acme.test', PASSWORD, '10.0.0.30');
  t.equal((await me(cookie!)).statusCode, 200);
  await setMemberPassword(services, { orgId, memberId, email: 'rotate@acme.test', password: 'another long password' });
  t.equal((await me(cookie!)).statusCode, 401);
});
