import { randomUUID } from 'node:crypto';
import t from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { addMember } from '../../src/commands/orgs.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { operator, testApp } from '../support/app.ts';
import { eventCount, settle } from '../webhooks/fixtures/providers.ts';

/** Settings, members and integration tokens for admins (owner, admin) on the internal API. */
const ctx = await testApp(t, { env: { PUBLIC_BASE_URL: 'https://app.example.com' } });
const { app, services, database } = ctx;
const API = '/api/internal/v1';
type Json = Record<string, any>;

/** A member recorded on the org (MemberAdded) with a member token, as `callsnare member create` makes them. */
async function person(orgId: string, role: MemberRole) {
  const memberId = randomUUID();
  const email = `${role}-${memberId.slice(0, 6)}@example.com`;
  await addMember(services, operator(orgId), { orgId, memberId, email, role });
  const issued = await issueCredential(services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role });
  await settle(ctx);
  return { memberId, email, token: issued.token };
}

const orgA = await ctx.createOrg();
const orgB = await ctx.createOrg({ name: 'Borealis' });
const owner = await person(orgA, 'owner');
const admin = await person(orgA, 'admin');
const member = await person(orgA, 'member');
const auditor = await person(orgA, 'auditor');
const adminB = await person(orgB, 'admin');

async function call(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, token: string, payload?: unknown) {
  await settle(ctx);
  return app.inject({
    method,
    url: `${API}${url}`,
    headers: { authorization: `Bearer ${token}` },
    ...(payload !== undefined && { payload: payload as object }),
  });
}

t.test('an admin changes every setting the app shows; each change is one OrgSettingsChanged event, as from the CLI', async (t) => {
  const changes = {
    businessHours: { mon: [{ start: '07:00', end: '18:00' }], sat: [{ start: '09:00', end: '12:00' }] },
    crewCapacity: 3,
    blackoutDates: [{ date: '2030-12-25', reason: 'Christmas' }],
    reminderOffsetsMinutes: [2880, 60],
    textBack: false,
    textBackTemplate: 'Hi, {{business}} here. Sorry we missed you!',
    quietHours: { start: '20:00', end: '07:00' },
    timezone: 'America/Denver',
  };
  const before = await eventCount(database, 'OrgSettingsChanged');
  const res = await call('PUT', '/settings', admin.token, changes);
  t.equal(res.statusCode, 200, res.body);
  const { timezone, ...settings } = changes;
  t.match(res.json(), { orgId: orgA, timezone, settings });
  t.equal(await eventCount(database, 'OrgSettingsChanged'), before + 1);
  const got = (await call('GET', '/settings', owner.token)).json() as Json;
  t.match(got, {
    timezone: 'America/Denver',
    settings: { crewCapacity: 3, textBack: false, quietHours: { start: '20:00', end: '07:00' } },
  });
  const bad = await call('PUT', '/settings', admin.token, { crewCapacity: 0, timezone: 'Mars/Olympus' });
  t.equal(bad.statusCode, 400);
  t.same(
    bad
      .json()
      .errors.map((e: Json) => e.path)
      .sort(),
    ['body.crewCapacity', 'body.timezone'],
  );
});

t.test('planned actions are operator-only: PUT /settings with enabledActions is 403 and records nothing', async (t) => {
  const before = await eventCount(database);
  for (const payload of [
    { enabledActions: ['availability'] },
    { enabledActions: [] },
    { textBack: true, enabledActions: ['lead_summary'] },
  ]) {
    const res = await call('PUT', '/settings', owner.token, payload);
    t.equal(res.statusCode, 403, JSON.stringify(payload));
    t.match(res.headers['content-type'], /application\/problem\+json/);
    t.match(res.json(), { code: 'operator_only', detail: /callsnare org configure --org .* --enable-action/ });
  }
  t.equal(await eventCount(database), before);
  t.same((await call('GET', '/settings', owner.token)).json().settings.enabledActions, []);
  const catalog = (await app.inject({ method: 'GET', url: '/api/actions' })).json() as { data: Json[] };
  t.notMatch(catalog.data.find((a) => a.name === 'availability')!.enable, /PUT/, 'the catalog no longer suggests the settings route');
});

t.test("admins list members and change roles; the member's token acts with the new role at once", async (t) => {
  const list = await call('GET', '/members', admin.token);
  t.equal(list.statusCode, 200);
  t.same(
    list.json().data.map((m: Json) => [m.email, m.role]),
    [owner, admin, member, auditor].map((p, i) => [p.email, ['owner', 'admin', 'member', 'auditor'][i]]),
  );
  t.equal((await call('GET', '/settings', member.token)).statusCode, 403, 'a member cannot open settings');
  const promoted = await call('PUT', `/members/${member.memberId}/role`, admin.token, { role: 'admin' });
  t.equal(promoted.statusCode, 200, promoted.body);
  t.same(promoted.json(), { memberId: member.memberId, email: member.email, role: 'admin' });
  t.equal(await eventCount(database, 'MemberRoleChanged'), 1);
  t.equal((await call('GET', '/settings', member.token)).statusCode, 200, 'now an admin');
  t.equal((await call('PUT', `/members/${member.memberId}/role`, admin.token, { role: 'admin' })).statusCode, 200);
  t.equal(await eventCount(database, 'MemberRoleChanged'), 1, 'the same role again records nothing');
  t.equal((await call('PUT', `/members/${member.memberId}/role`, admin.token, { role: 'member' })).statusCode, 200);
  t.equal((await call('GET', '/settings', member.token)).statusCode, 403, 'and back');

  const toOwner = await call('PUT', `/members/${member.memberId}/role`, admin.token, { role: 'owner' });
  t.equal(toOwner.statusCode, 409);
  t.equal(toOwner.json().code, 'owner_only');
  const lastOwner = await call('PUT', `/members/${owner.memberId}/role`, owner.token, { role: 'admin' });
  t.equal(lastOwner.statusCode, 409);
  t.equal(lastOwner.json().code, 'last_owner');
  t.equal((await call('PUT', `/members/${admin.memberId}/role`, member.token, { role: 'member' })).statusCode, 403);
  t.equal((await call('PUT', `/members/${member.memberId}/role`, adminB.token, { role: 'admin' })).statusCode, 404, "another org's member");
  t.equal((await call('PUT', `/members/${member.memberId}/role`, admin.token, { role: 'boss' })).statusCode, 400);
  t.notOk((await call('GET', '/members', adminB.token)).json().data.some((m: Json) => m.memberId === member.memberId));
});

t.test('an admin invites a person: a single-use link; only an owner invites an owner', async (t) => {
  const res = await call('POST', '/members/invitations', admin.token, { email: 'new.tech@example.com', role: 'member' });
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json(), {
    email: 'new.tech@example.com',
    role: 'member',
    url: /^https:\/\/app\.example\.com\/app\/invite\/.+/,
    expiresAt: String,
  });
  t.ok((await call('GET', '/members', admin.token)).json().data.some((m: Json) => m.email === 'new.tech@example.com'));
  t.equal((await call('POST', '/members/invitations', admin.token, { email: 'boss@example.com', role: 'owner' })).statusCode, 403);
  t.equal((await call('POST', '/members/invitations', member.token, { email: 'x@example.com', role: 'member' })).statusCode, 403);
  t.equal((await call('POST', '/members/invitations', admin.token, { email: 'not-an-email', role: 'member' })).statusCode, 400);
});

t.test('integration tokens: the secret is shown once, the list never shows it, a revoked token stops working', async (t) => {
  const created = await call('POST', '/tokens', admin.token, { label: 'Dispatch board', scopes: ['READ_BOOKINGS'] });
  t.equal(created.statusCode, 201, created.body);
  t.equal(created.headers['cache-control'], 'no-store');
  const { id, token } = created.json() as Json;
  t.match(token, /^cs_live_/);
  await settle(ctx);
  const works = await app.inject({
    method: 'GET',
    url: '/api/private/v1/bookings?from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z',
    headers: { authorization: `Bearer ${token}` },
  });
  t.equal(works.statusCode, 200);
  const list = await call('GET', '/tokens', owner.token);
  t.equal(list.statusCode, 200);
  const row = list.json().data.find((r: Json) => r.id === id);
  t.match(row, { label: 'Dispatch board', scopes: ['READ_BOOKINGS'], revokedAt: null });
  t.notOk(JSON.stringify(list.json()).includes(token), 'never the secret');
  t.notOk(
    list.json().data.some((r: Json) => r.label === member.email),
    'member tokens are not integration tokens',
  );

  const foreign = await call('DELETE', `/tokens/${id}`, adminB.token);
  t.equal(foreign.statusCode, 404);
  const revoked = await call('DELETE', `/tokens/${id}`, admin.token, { reason: 'board replaced' });
  t.equal(revoked.statusCode, 200);
  t.ok(revoked.json().revokedAt);
  await settle(ctx);
  const refused = await app.inject({
    method: 'GET',
    url: '/api/private/v1/bookings?from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z',
    headers: { authorization: `Bearer ${token}` },
  });
  t.equal(refused.statusCode, 401);
  t.equal((await call('DELETE', `/tokens/${id}`, admin.token)).statusCode, 200, 'revoking again is harmless');
  t.equal(await eventCount(database, 'CredentialRevoked'), 1);
  const memberCredential = (
    await services.db.selectFrom('credentials').select('id').where('member_id', '=', member.memberId).executeTakeFirstOrThrow()
  ).id;
  t.equal((await call('DELETE', `/tokens/${memberCredential}`, admin.token)).statusCode, 404, 'a member token is not revoked here');

  for (const payload of [
    { label: 'x', scopes: [] },
    { label: '', scopes: ['READ_BOOKINGS'] },
    { label: 'x', scopes: ['ADMIN'] },
  ]) {
    t.equal((await call('POST', '/tokens', admin.token, payload)).statusCode, 400, JSON.stringify(payload));
  }
  for (const who of [member, auditor]) {
    t.equal((await call('GET', '/tokens', who.token)).statusCode, 403);
    t.equal((await call('POST', '/tokens', who.token, { label: 'x', scopes: ['READ_BOOKINGS'] })).statusCode, 403);
    t.equal((await call('GET', '/members', who.token)).statusCode, 403);
  }
});
