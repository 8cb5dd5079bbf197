// No account takeover through invitations (issue 21 items 1, 2, 15): an invitation is for a new person only,
// a reset link is the person's own (the operator's `member reset-link`), and a newer link, a used link or a
// new password ends every other open link of that person. Real HTTP stack, real PostgreSQL.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { addMember } from '../../src/commands/orgs.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { findOpenInvite, inviteMember, resetLink, setMemberPassword } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';
import { settle } from '../webhooks/fixtures/providers.ts';

const ctx = await testApp(t, { env: { PUBLIC_BASE_URL: 'https://app.example.com' } });
const { app, services, database } = ctx;
const API = '/api/internal/v1';
const PASSWORD = 'correct horse battery staple';

/** A member with a member token; `password` also lets them sign in to the web app. */
async function person(orgId: string, role: MemberRole, password?: string) {
  const memberId = randomUUID();
  const email = `${role}-${memberId.slice(0, 6)}@example.com`;
  await addMember(services, operator(orgId), { orgId, memberId, email, role });
  const issued = await issueCredential(services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role });
  if (password) await setMemberPassword(services, { orgId, memberId, email, password });
  await settle(ctx);
  return { memberId, email, token: issued.token };
}

const invite = async (token: string, payload: { email: string; role: MemberRole }) => {
  await settle(ctx);
  return app.inject({ method: 'POST', url: `${API}/members/invitations`, headers: { authorization: `Bearer ${token}` }, payload });
};
const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);
const openLinks = async (memberId: string) =>
  (await database.pool.query(`select count(*)::int as n from member_invites where member_id = $1 and used_at is null`, [memberId])).rows[0]
    .n as number;

const orgA = await ctx.createOrg();
const orgB = await ctx.createOrg({ name: 'Borealis' });
const owner = await person(orgA, 'owner', PASSWORD);
const admin = await person(orgA, 'admin', PASSWORD);
const elsewhere = await person(orgB, 'member', PASSWORD);

t.test("an admin inviting the owner's email gets 409 already_member and no link; the owner's password still works", async (t) => {
  const res = await invite(admin.token, { email: owner.email, role: 'member' });
  t.equal(res.statusCode, 409, res.body);
  t.equal(res.json().code, 'already_member');
  t.notMatch(res.body, /csi_/, 'no link in the answer');
  t.equal(await openLinks(owner.memberId), 0, 'no link was made');
  const again = await invite(owner.token, { email: admin.email, role: 'admin' });
  t.equal(again.json().code, 'already_member', 'not even an owner gets a link for someone who signs in');
  const signIn = await app.inject({ method: 'POST', url: '/app/session', payload: { email: owner.email, password: PASSWORD } });
  t.equal(signIn.statusCode, 201);
});

t.test('an email that signs in to another org is only "taken" (which org is not told)', async (t) => {
  const res = await invite(admin.token, { email: elsewhere.email, role: 'member' });
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'login_taken');
  t.notMatch(res.body, new RegExp(elsewhere.email.replace('.', '\\.')), 'the email is not echoed as belonging elsewhere');
  t.notMatch(res.body, /another org/);
});

t.test('a pending invitee may be invited again (the earlier link ends), but an admin cannot re-invite a pending owner', async (t) => {
  const first = await invite(admin.token, { email: 'pending@example.com', role: 'member' });
  t.equal(first.statusCode, 201, first.body);
  const second = await invite(admin.token, { email: 'pending@example.com', role: 'member' });
  t.equal(second.statusCode, 201, second.body);
  t.notOk(await findOpenInvite(services.db, tokenOf(first.json().url), services.clock()), 'the older link ended');
  t.ok(await findOpenInvite(services.db, tokenOf(second.json().url), services.clock()));

  const boss = await invite(owner.token, { email: 'pending.boss@example.com', role: 'owner' });
  t.equal(boss.statusCode, 201, boss.body);
  const byAdmin = await invite(admin.token, { email: 'pending.boss@example.com', role: 'member' });
  t.equal(byAdmin.statusCode, 403, 'an admin cannot act on an owner');
  t.ok(await findOpenInvite(services.db, tokenOf(boss.json().url), services.clock()), "the owner's link is untouched");
});

t.test("the operator's reset link is the person's own: it ends earlier links, and using it ends every other link", async (t) => {
  const a = await resetLink(services, { orgId: orgA, email: admin.email });
  const b = await resetLink(services, { orgId: orgA, email: admin.email });
  t.ok(a && b);
  t.notOk(await findOpenInvite(services.db, tokenOf(a!.url), services.clock()), 'a newer link ends the older one');
  const used = await app.inject({
    method: 'POST',
    url: `/app/invitations/${tokenOf(b!.url)}`,
    payload: { password: 'a brand new password' },
  });
  t.equal(used.statusCode, 201, used.body);
  t.equal(await openLinks(admin.memberId), 0);
  t.equal(await resetLink(services, { orgId: orgB, email: admin.email }), undefined, 'not a member of that org');

  const c = await resetLink(services, { orgId: orgA, email: admin.email });
  await setMemberPassword(services, { orgId: orgA, memberId: admin.memberId, email: admin.email, password: PASSWORD });
  t.notOk(await findOpenInvite(services.db, tokenOf(c!.url), services.clock()), 'setting a password ends open links');
});

t.test('the CLI path refuses the same: an existing member is not re-invited', async (t) => {
  await t.rejects(inviteMember(services, operator(orgA), { orgId: orgA, email: owner.email, role: 'member', byRole: 'operator' }), {
    name: 'AlreadyMemberError',
  });
});
