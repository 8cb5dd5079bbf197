// A role change holds from the person's very next request (issue 21 item 8): a member demoted to auditor
// no longer reads leads, with their member token or their web session, without waiting for any projector.
// PUT /api/internal/v1/members/:memberId/role: owner and admin of the org; only an owner changes an owner's
// role (the target's current role is checked). Refused to a lower role, another org and no session.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { addMember } from '../../src/commands/orgs.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { setMemberPassword } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';
import { settle } from '../webhooks/fixtures/providers.ts';

// No live projectors: whatever the route does not bring up to date before answering stays stale.
const ctx = await testApp(t);
const { app, services } = ctx;
const API = '/api/internal/v1';
const PASSWORD = 'correct horse battery staple';

async function person(orgId: string, role: MemberRole) {
  const memberId = randomUUID();
  const email = `${role}-${memberId.slice(0, 6)}@example.com`;
  await addMember(services, operator(orgId), { orgId, memberId, email, role });
  const issued = await issueCredential(services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role });
  await setMemberPassword(services, { orgId, memberId, email, password: PASSWORD });
  await settle(ctx);
  const res = await app.inject({ method: 'POST', url: '/app/session', payload: { email, password: PASSWORD } });
  const cookie = /cs_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
  return { memberId, email, token: issued.token, cookie };
}
const byToken = (token: string | undefined, method: 'GET' | 'PUT', url: string, payload?: object) =>
  app.inject({ method, url: `${API}${url}`, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload && { payload }) });
const bySession = (cookie: string, url: string) => app.inject({ method: 'GET', url: `${API}${url}`, cookies: { cs_session: cookie } });

const orgA = await ctx.createOrg();
const orgB = await ctx.createOrg({ name: 'Borealis' });
const owner = await person(orgA, 'owner');
const admin = await person(orgA, 'admin');
const adminB = await person(orgB, 'admin');

t.test('a demotion to auditor holds at the next request, for the token and the session', async (t) => {
  const demoted = await person(orgA, 'member');
  t.equal((await byToken(demoted.token, 'GET', '/leads')).statusCode, 200);
  t.equal((await bySession(demoted.cookie, '/leads')).statusCode, 200);
  const res = await byToken(admin.token, 'PUT', `/members/${demoted.memberId}/role`, { role: 'auditor' });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().role, 'auditor');
  const viaToken = await byToken(demoted.token, 'GET', '/leads');
  t.equal(viaToken.statusCode, 403, 'the member token is an auditor now');
  t.match(viaToken.json().detail, /role is auditor/);
  t.equal((await bySession(demoted.cookie, '/leads')).statusCode, 403, 'the web session too');
  t.equal((await bySession(demoted.cookie, '/audit/events')).statusCode, 200, 'and reads what an auditor reads');
});

t.test("the target's current role is checked: an admin cannot change an owner's role nor make an owner", async (t) => {
  const second = await person(orgA, 'owner');
  const demote = await byToken(admin.token, 'PUT', `/members/${second.memberId}/role`, { role: 'member' });
  t.equal(demote.statusCode, 409);
  t.equal(demote.json().code, 'owner_only');
  const member = await person(orgA, 'member');
  const promote = await byToken(admin.token, 'PUT', `/members/${member.memberId}/role`, { role: 'owner' });
  t.equal(promote.statusCode, 409);
  t.equal(promote.json().code, 'owner_only');
  t.equal((await byToken(second.token, 'GET', '/settings')).statusCode, 200, 'the owner is still an owner');
  t.equal((await byToken(owner.token, 'PUT', `/members/${member.memberId}/role`, { role: 'admin' })).statusCode, 200);
  t.equal((await byToken(member.token, 'GET', '/settings')).statusCode, 200, 'promoted at once');
});

t.test('role changes are refused to a lower role, another org and no token', async (t) => {
  const member = await person(orgA, 'member');
  const target = await person(orgA, 'member');
  t.equal((await byToken(member.token, 'PUT', `/members/${target.memberId}/role`, { role: 'admin' })).statusCode, 403);
  t.equal((await byToken(adminB.token, 'PUT', `/members/${target.memberId}/role`, { role: 'auditor' })).statusCode, 404);
  t.equal((await byToken(undefined, 'PUT', `/members/${target.memberId}/role`, { role: 'auditor' })).statusCode, 401);
  t.equal((await byToken(target.token, 'GET', '/leads')).statusCode, 200, 'nothing changed');
});
