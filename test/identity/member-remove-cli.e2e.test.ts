// `callsnare member remove --org ID --email E` (issue 21 item 8, CONTRACT §7): the operator removes a
// member through the same use case as the API; their session, member token and open link end at once, the
// last owner stays, and a bad input is one line and changes nothing. The real CLI, the real database.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { addMember } from '../../src/commands/orgs.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { resetLink, setMemberPassword } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';
import { execFileOwned } from '../support/processes.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';
import { eventCount, settle } from '../webhooks/fixtures/providers.ts';

const ctx = await testApp(t);
const { app, services, database } = ctx;
const PASSWORD = 'correct horse battery staple';
const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, LOG_LEVEL: 'silent' };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFileOwned(process.execPath, [CLI_BIN, ...args], { env, cwd: REPO_ROOT, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
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
const me = (cookie: string) => app.inject({ method: 'GET', url: '/app/session', cookies: { cs_session: cookie } });
const leads = (token: string) =>
  app.inject({ method: 'GET', url: '/api/internal/v1/leads', headers: { authorization: `Bearer ${token}` } });

const orgId = await ctx.createOrg();
const owner = await person(orgId, 'owner');

t.test('member remove ends the session, the member token and the open link at once', async (t) => {
  const leaving = await person(orgId, 'member');
  const link = await resetLink(services, { orgId, email: leaving.email });
  t.equal((await me(leaving.cookie)).statusCode, 200);
  const run = await cli(['member', 'remove', '--org', orgId, '--email', leaving.email.toUpperCase(), '--json']);
  t.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as Record<string, unknown>;
  t.match(out, { memberId: leaving.memberId, orgId, email: leaving.email, removed: true, sessionsEnded: 1 });
  t.equal(await eventCount(database, 'MemberRemoved'), 1);
  t.equal((await me(leaving.cookie)).statusCode, 401, 'the session ended');
  t.equal((await leads(leaving.token)).statusCode, 401, 'the member token ended');
  const accept = await app.inject({
    method: 'POST',
    url: `/app/invitations/${link!.url.slice(link!.url.lastIndexOf('/') + 1)}`,
    payload: { password: 'a brand new password' },
  });
  t.equal(accept.statusCode, 404, 'the open link ended');
  const signIn = await app.inject({ method: 'POST', url: '/app/session', payload: { email: leaving.email, password: PASSWORD } });
  t.equal(signIn.statusCode, 401, 'no sign-in');
});

t.test('the last owner stays; an unknown email or org is one line; nothing changes', async (t) => {
  const last = await cli(['member', 'remove', '--org', orgId, '--email', owner.email]);
  t.not(last.code, 0);
  t.match(last.stderr, /owner/);
  t.equal(last.stderr.trim().split('\n').length, 1, 'one line');
  const unknown = await cli(['member', 'remove', '--org', orgId, '--email', 'nobody@example.com']);
  t.not(unknown.code, 0);
  t.match(unknown.stderr, /nobody@example\.com is not a member/);
  const noOrg = await cli(['member', 'remove', '--org', randomUUID(), '--email', owner.email]);
  t.not(noOrg.code, 0);
  t.equal(noOrg.stderr.trim().split('\n').length, 1);
  t.equal(await eventCount(database, 'MemberRemoved'), 1, 'only the earlier removal');
  t.equal((await me(owner.cookie)).statusCode, 200, 'the owner is still in');
});
