// Members leave (issue 21 item 8, CONTRACT §7): DELETE /api/internal/v1/members/:memberId (admin+; only an
// owner removes an owner; the last owner stays) ends sessions, member tokens and open links at once, and
// admins can end another person's sessions. Real HTTP stack, real PostgreSQL.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { addMember } from '../../src/commands/orgs.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { resetLink, setMemberPassword } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';
import { eventCount, settle } from '../webhooks/fixtures/providers.ts';

const ctx = await testApp(t);
const { app, services, database } = ctx;
const API = '/api/internal/v1';
const PASSWORD = 'correct horse battery staple';

async function person(orgId: string, role: MemberRole) {
  const memberId = randomUUID();
  const email = `${role}-${memberId.slice(0, 6)}@example.com`;
  await addMember(services, operator(orgId), { orgId, memberId, email, role });
  const issued = await issueCredential(services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role });
  await setMemberPassword(services, { orgId, memberId, email, password: PASSWORD });
  await settle(ctx);
  return { memberId, email, token: issued.token };
}
async function session(email: string) {
  const res = await app.inject({ method: 'POST', url: '/app/session', payload: { email, password: PASSWORD } });
  return /cs_session=([^;]+)/.exec(String(res.headers['set-cookie'] ?? ''))![1]!;
}
const me = (cookie: string) => app.inject({ method: 'GET', url: '/app/session', cookies: { cs_session: cookie } });
async function call(method: 'GET' | 'DELETE', url: string, token?: string) {
  await settle(ctx);
  return app.inject({ method, url: `${API}${url}`, headers: token ? { authorization: `Bearer ${token}` } : {} });
}

const orgA = await ctx.createOrg();
const orgB = await ctx.createOrg({ name: 'Borealis' });
const owner = await person(orgA, 'owner');
const admin = await person(orgA, 'admin');
const adminB = await person(orgB, 'admin');

t.test('an admin removes a member: their session, token, links and sign-in end at once', async (t) => {
  const leaving = await person(orgA, 'member');
  const cookie = await session(leaving.email);
  const link = await resetLink(services, { orgId: orgA, email: leaving.email });
  t.equal((await me(cookie)).statusCode, 200);
  const res = await call('DELETE', `/members/${leaving.memberId}`, admin.token);
  t.equal(res.statusCode, 204, res.body);
  t.equal(await eventCount(database, 'MemberRemoved'), 1);
  t.equal((await me(cookie)).statusCode, 401, 'the open session ends');
  t.equal((await call('GET', '/leads', leaving.token)).statusCode, 401, 'the member token ends on the next request');
  const accept = await app.inject({
    method: 'POST',
    url: `/app/invitations/${link!.url.slice(link!.url.lastIndexOf('/') + 1)}`,
    payload: { password: 'a brand new password' },
  });
  t.equal(accept.statusCode, 404, 'the open link ends');
  const signIn = await app.inject({ method: 'POST', url: '/app/session', payload: { email: leaving.email, password: PASSWORD } });
  t.equal(signIn.statusCode, 401, 'they cannot sign in again');
  t.notOk((await call('GET', '/members', admin.token)).json().data.some((m: { memberId: string }) => m.memberId === leaving.memberId));
  t.equal((await call('DELETE', `/members/${leaving.memberId}`, admin.token)).statusCode, 404, 'already gone');
});

t.test('only an owner removes an owner, and the last owner stays', async (t) => {
  const byAdmin = await call('DELETE', `/members/${owner.memberId}`, admin.token);
  t.equal(byAdmin.statusCode, 409);
  t.equal(byAdmin.json().code, 'owner_only');
  const last = await call('DELETE', `/members/${owner.memberId}`, owner.token);
  t.equal(last.statusCode, 409);
  t.equal(last.json().code, 'last_owner');
  t.equal((await me(await session(owner.email))).statusCode, 200, 'the owner is still in');
});

t.test('removal is refused to a lower role, another org and no token', async (t) => {
  const member = await person(orgA, 'member');
  const auditor = await person(orgA, 'auditor');
  t.equal((await call('DELETE', `/members/${admin.memberId}`, member.token)).statusCode, 403);
  t.equal((await call('DELETE', `/members/${admin.memberId}`, auditor.token)).statusCode, 403);
  t.equal((await call('DELETE', `/members/${member.memberId}`, adminB.token)).statusCode, 404, "another org's member");
  t.equal((await call('DELETE', `/members/${member.memberId}`)).statusCode, 401);
  t.equal((await call('GET', '/leads', member.token)).statusCode, 200, 'nothing was removed');
});

t.test("an admin ends another person's sessions; not an owner's; refused to a lower role, another org, no token", async (t) => {
  const member = await person(orgA, 'member');
  const cookie = await session(member.email);
  t.equal((await call('DELETE', `/members/${member.memberId}/sessions`, adminB.token)).statusCode, 404);
  t.equal((await call('DELETE', `/members/${member.memberId}/sessions`, member.token)).statusCode, 403);
  t.equal((await call('DELETE', `/members/${member.memberId}/sessions`)).statusCode, 401);
  t.equal((await me(cookie)).statusCode, 200);
  const ended = await call('DELETE', `/members/${member.memberId}/sessions`, admin.token);
  t.equal(ended.statusCode, 200, ended.body);
  t.same(ended.json(), { ended: 1 });
  t.equal((await me(cookie)).statusCode, 401, 'signed out');
  const ownerCookie = await session(owner.email);
  t.equal((await call('DELETE', `/members/${owner.memberId}/sessions`, admin.token)).statusCode, 403);
  t.equal((await me(ownerCookie)).statusCode, 200, "the owner's session stays");
});
