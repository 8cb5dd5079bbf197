// Live feeds end with the right to read them (issue 21 item 5, CONTRACT §7): a feed held by one `serve`
// process closes within seconds when the session ends in another (sign-out, removal, role change).
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { addMember, changeMemberRole } from '../../src/commands/orgs.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { setMemberPassword } from '../../src/identity/index.ts';
import { RECHECK_MS, STREAMS_PER_MEMBER } from '../../src/http/app/events.ts';
import { operator, secondServer, testApp } from '../support/app.ts';
import { openSse } from '../web/sse-client.ts';
import { settle } from '../webhooks/fixtures/providers.ts';

const ctx = await testApp(t);
const serverA = ctx.app;
const serverB = await secondServer(t, ctx);
const base = await serverB.listen({ host: '127.0.0.1', port: 0 });
const orgId = await ctx.createOrg();
const PASSWORD = 'correct horse battery staple';

async function person(role: MemberRole) {
  const memberId = randomUUID();
  const email = `${role}-${memberId.slice(0, 6)}@example.com`;
  await addMember(ctx.services, operator(orgId), { orgId, memberId, email, role });
  await setMemberPassword(ctx.services, { orgId, memberId, email, password: PASSWORD });
  await settle(ctx);
  const res = await serverA.inject({ method: 'POST', url: '/app/session', payload: { email, password: PASSWORD } });
  const cookie = /cs_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
  const csrf = (await serverA.inject({ method: 'GET', url: '/app/session', cookies: { cs_session: cookie } })).json().csrfToken as string;
  return { memberId, email, cookie, csrf };
}
const feedOf = (cookie: string) => openSse(`${base}/app/events`, { cookie: `cs_session=${cookie}` });
const closes = (feed: Awaited<ReturnType<typeof feedOf>>) =>
  feed.waitFor((messages) => messages.some((m) => m.event === 'signed-out'), RECHECK_MS * 4);

t.test('sign-out in process A closes the feed held by process B within seconds', async (t) => {
  const who = await person('member');
  const feed = await feedOf(who.cookie);
  t.teardown(() => feed.close());
  t.equal(feed.status, 200);
  const out = await serverA.inject({
    method: 'DELETE',
    url: '/app/session',
    cookies: { cs_session: who.cookie },
    headers: { 'x-csrf-token': who.csrf },
  });
  t.equal(out.statusCode, 204);
  const started = Date.now();
  await closes(feed);
  t.ok(Date.now() - started <= RECHECK_MS * 4, 'within seconds');
});

t.test('the access-changed notice closes a feed held by another process at once, not at the periodic re-check', async (t) => {
  const who = await person('member');
  const feed = await feedOf(who.cookie);
  t.teardown(() => feed.close());
  await new Promise((r) => setTimeout(r, 500)); // process B's LISTEN connection is up
  const out = await serverA.inject({
    method: 'DELETE',
    url: '/app/sessions',
    cookies: { cs_session: who.cookie },
    headers: { 'x-csrf-token': who.csrf },
  });
  t.equal(out.statusCode, 200);
  const started = Date.now();
  await feed.waitFor((messages) => messages.some((m) => m.event === 'signed-out'), RECHECK_MS * 2);
  const took = Date.now() - started;
  t.ok(took < 1500, `closed ${took} ms after "sign out everywhere" (the periodic re-check runs every ${RECHECK_MS} ms)`);
});

t.test("a role change closes the person's open feed (it reconnects with the new role)", async (t) => {
  const who = await person('member');
  const feed = await feedOf(who.cookie);
  t.teardown(() => feed.close());
  await changeMemberRole(ctx.services, operator(orgId), { orgId, memberId: who.memberId, role: 'auditor', byRole: 'operator' });
  await settle(ctx);
  await closes(feed);
  t.pass('closed');
});

t.test('a feed stays open while its session lives', async (t) => {
  const who = await person('member');
  const feed = await feedOf(who.cookie);
  t.teardown(() => feed.close());
  await new Promise((r) => setTimeout(r, RECHECK_MS * 2 + 500));
  t.notOk(feed.messages.some((m) => m.event === 'signed-out'));
});

t.test(`one person holds at most ${STREAMS_PER_MEMBER} open feeds per process (429 beyond); closing one frees a place`, async (t) => {
  const who = await person('member');
  const feeds: Awaited<ReturnType<typeof feedOf>>[] = [];
  for (let i = 0; i < STREAMS_PER_MEMBER; i++) feeds.push(await feedOf(who.cookie));
  t.teardown(() => feeds.forEach((f) => f.close()));
  t.same(
    feeds.map((f) => f.status),
    Array<number>(STREAMS_PER_MEMBER).fill(200),
  );
  const extra = await feedOf(who.cookie);
  t.equal(extra.status, 429);
  t.ok(Number(extra.headers['retry-after']) > 0);
  extra.close();
  feeds.shift()!.close();
  let again = await feedOf(who.cookie);
  for (let i = 0; again.status !== 200 && i < 20; i++) {
    again.close();
    await new Promise((r) => setTimeout(r, 50));
    again = await feedOf(who.cookie);
  }
  feeds.push(again);
  t.equal(again.status, 200);
});
