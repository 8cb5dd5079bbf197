// "Forgot your password?" (issue 21 item 1): a reset is the person's own. POST /app/password-resets
// {email} — anyone may call it, no session — answers 202 the same for any email, sends the link through
// the mail port to that email (log mode: the development outbox; over https the link is never logged),
// never to the caller; the link works once, for 1 hour, and ends every earlier link. Limited per address
// (429) and per person (a flood sends a few emails). Real HTTP stack, real PostgreSQL, the real log mailer.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { addMember } from '../../src/commands/orgs.ts';
import { RESET_TTL_MS, setMemberPassword } from '../../src/identity/index.ts';
import { RESET_ADDRESS_LIMIT, RESETS_PER_ACCOUNT } from '../../src/http/app/session.ts';
import { operator, testApp, testClock } from '../support/app.ts';
import { settle } from '../webhooks/fixtures/providers.ts';

const PASSWORD = 'correct horse battery staple';

/** A real pino logger whose lines the test reads (what an operator would see on stdout). */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}
const emails = (lines: Record<string, unknown>[]) => lines.filter((l) => l.event === 'email' || l.event === 'email_not_delivered');
async function waitFor(check: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

const clock = testClock();
const captured = capturedLog();
const ctx = await testApp(t, { clock, log: captured.log });
const { app, services } = ctx;
const orgId = await ctx.createOrg();
async function person(email: string) {
  const memberId = randomUUID();
  await addMember(services, operator(orgId), { orgId, memberId, email, role: 'owner' });
  await setMemberPassword(services, { orgId, memberId, email, password: PASSWORD });
  await settle(ctx);
  return memberId;
}
const ask = (email: string, ip = '10.7.0.1', headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/app/password-resets', payload: { email }, remoteAddress: ip, headers });
const signIn = (email: string, password: string) =>
  app.inject({ method: 'POST', url: '/app/session', payload: { email, password }, remoteAddress: '10.7.9.9' });
const linkIn = (line: Record<string, unknown>) => /\/app\/invite\/(csi_[A-Za-z0-9_-]+)/.exec(String(line.text))?.[1];

t.test("the link goes to the person's email, not to the caller; it sets a new password once", async (t) => {
  await person('owner@acme.test');
  const before = emails(captured.lines).length;
  const res = await ask('Owner@Acme.test ');
  t.equal(res.statusCode, 202);
  t.notMatch(res.body, /csi_|invite/, 'the caller never sees a link');
  await waitFor(() => emails(captured.lines).length > before);
  const mail = emails(captured.lines).at(-1)!;
  t.equal(mail.to, 'owner@acme.test');
  const token = linkIn(mail)!;
  t.ok(token, 'the email carries the link');
  const view = await app.inject({ method: 'GET', url: `/app/invitations/${token}` });
  t.equal(view.statusCode, 200);
  t.ok(new Date(view.json().expiresAt).getTime() - clock().getTime() <= RESET_TTL_MS, 'works for 1 hour');
  const accepted = await app.inject({ method: 'POST', url: `/app/invitations/${token}`, payload: { password: 'a brand new password' } });
  t.equal(accepted.statusCode, 201, accepted.body);
  t.equal((await signIn('owner@acme.test', 'a brand new password')).statusCode, 201);
  t.equal((await signIn('owner@acme.test', PASSWORD)).statusCode, 401, 'the old password is gone');
  const again = await app.inject({ method: 'POST', url: `/app/invitations/${token}`, payload: { password: 'yet another password' } });
  t.equal(again.statusCode, 404, 'single use');
});

t.test('an unknown email gets the same answer and no email', async (t) => {
  const before = emails(captured.lines).length;
  const known = await ask('owner@acme.test', '10.7.1.1');
  const unknown = await ask('nobody@acme.test', '10.7.1.1');
  t.equal(unknown.statusCode, known.statusCode);
  t.same(unknown.json(), known.json());
  await waitFor(() => emails(captured.lines).length > before);
  await new Promise((r) => setTimeout(r, 300));
  t.same(
    emails(captured.lines)
      .slice(before)
      .map((l) => l.to),
    ['owner@acme.test'],
  );
});

t.test('a newer link ends the earlier one', async (t) => {
  await person('twice@acme.test');
  const before = emails(captured.lines).length;
  await ask('twice@acme.test', '10.7.2.1');
  await waitFor(() => emails(captured.lines).length > before);
  await ask('twice@acme.test', '10.7.2.1');
  await waitFor(() => emails(captured.lines).length > before + 1);
  const [first, second] = emails(captured.lines).slice(before).map(linkIn);
  t.equal((await app.inject({ method: 'GET', url: `/app/invitations/${first!}` })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/app/invitations/${second!}` })).statusCode, 200);
});

t.test(`limits: ${RESET_ADDRESS_LIMIT} requests per address (then 429), ${RESETS_PER_ACCOUNT} emails per person per window`, async (t) => {
  await person('flooded@acme.test');
  const before = emails(captured.lines).length;
  for (let i = 0; i < RESET_ADDRESS_LIMIT; i++) t.equal((await ask('flooded@acme.test', `10.7.3.${i + 1}`)).statusCode, 202);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(emails(captured.lines).slice(before).length, RESETS_PER_ACCOUNT, 'the person gets a few emails, not one per request');
  for (let i = 0; i < RESET_ADDRESS_LIMIT; i++) await ask(`x${i}@acme.test`, '10.7.4.1');
  const refused = await ask('flooded@acme.test', '10.7.4.1');
  t.equal(refused.statusCode, 429);
  t.ok(Number(refused.headers['retry-after']) > 0);
});

t.test('refused from another origin', async (t) => {
  const res = await ask('owner@acme.test', '10.7.5.1', { origin: 'https://evil.example' });
  t.equal(res.statusCode, 403);
});

t.test('over https the log mailer never writes the link (a log is no mailbox)', async (t) => {
  const https = capturedLog();
  const secure = await testApp(t, { log: https.log, env: { PUBLIC_BASE_URL: 'https://app.example.com' } });
  const org = await secure.createOrg();
  const memberId = randomUUID();
  await addMember(secure.services, operator(org), { orgId: org, memberId, email: 'prod@acme.test', role: 'member' });
  await setMemberPassword(secure.services, { orgId: org, memberId, email: 'prod@acme.test', password: PASSWORD });
  await settle(secure);
  t.equal((await secure.app.inject({ method: 'POST', url: '/app/password-resets', payload: { email: 'prod@acme.test' } })).statusCode, 202);
  await waitFor(() => emails(https.lines).length > 0);
  t.equal(emails(https.lines)[0]!.event, 'email_not_delivered');
  t.notMatch(JSON.stringify(https.lines), /csi_[A-Za-z0-9_-]{10}/, 'no link in any log line');
});
