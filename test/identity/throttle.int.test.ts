// Sign-in throttling counts each attempt atomically before the password is checked (issue 21 item 3),
// and keys IPv6 addresses by their /64 (item 7; that a lockout is no denial of service: lockout.int.test.ts).
// Real HTTP stack, real PostgreSQL.
import t from 'tap';
import { ACCOUNT_LIMIT, ADDRESS_LIMIT, addressKey, ensureMember, setMemberPassword } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';

// Enough hashing slots for the five checks this test lets through at once.
const ctx = await testApp(t, { env: { PASSWORD_HASH_CONCURRENCY: '8' } });
const { app, services } = ctx;
const orgId = await ctx.createOrg({ name: 'Acme HVAC' });
const PASSWORD = 'correct horse battery staple';

async function person(email: string) {
  const member = await ensureMember(services, operator(orgId), { orgId, email, role: 'member' });
  await ctx.catchUpAll();
  await setMemberPassword(services, { orgId, memberId: member.memberId, email, password: PASSWORD });
}
const signIn = (email: string, password: string, ip: string) =>
  app.inject({ method: 'POST', url: '/app/session', payload: { email, password }, remoteAddress: ip });

t.test(`12 parallel wrong passwords against a limit of ${ACCOUNT_LIMIT}: only ${ACCOUNT_LIMIT} are checked`, async (t) => {
  await person('parallel@acme.test');
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn('parallel@acme.test', `wrong password ${i}`, '10.1.0.1')));
  const codes = answers.map((a) => a.statusCode).sort();
  t.same(codes, [...Array<number>(ACCOUNT_LIMIT).fill(401), ...Array<number>(12 - ACCOUNT_LIMIT).fill(429)]);
  t.ok(
    answers.filter((a) => a.statusCode === 429).every((a) => Number(a.headers['retry-after']) > 0),
    'each refusal says when',
  );
  t.equal((await signIn('parallel@acme.test', PASSWORD, '10.1.0.1')).statusCode, 429, 'the guessing address stays locked for the window');
});

t.test('IPv6 addresses share one limit per /64; another /64 is not affected', async (t) => {
  t.equal(addressKey('2001:db8:1:2:aaaa::1'), 'address:2001:db8:1:2::/64');
  t.equal(addressKey('2001:0db8:0001:0002:ffff:1:2:3'), 'address:2001:db8:1:2::/64');
  t.equal(addressKey('::ffff:192.0.2.7'), 'address:192.0.2.7');
  await person('v6@acme.test');
  for (let i = 0; i < ADDRESS_LIMIT; i++)
    await signIn(`nobody-v6-${i}@acme.test`, 'wrong password', `2001:db8:5:6::${(i + 1).toString(16)}`);
  t.equal((await signIn('v6@acme.test', PASSWORD, '2001:db8:5:6:ffff::9')).statusCode, 429, 'same /64, other address: locked');
  t.equal((await signIn('v6@acme.test', PASSWORD, '2001:db8:5:7::1')).statusCode, 201, 'another /64 signs in');
});

t.test('behind a trusted proxy (TRUST_PROXY=1) each client is limited by its own address', async (t) => {
  const proxied = await testApp(t, { env: { TRUST_PROXY: '1', PASSWORD_HASH_CONCURRENCY: '8' } });
  const via = (forwarded: string) =>
    proxied.app.inject({
      method: 'POST',
      url: '/app/session',
      payload: { email: `nobody-${forwarded}@acme.test`, password: 'wrong password' },
      remoteAddress: '10.9.9.9',
      headers: { 'x-forwarded-for': forwarded },
    });
  for (let i = 0; i < ADDRESS_LIMIT; i++) await via('198.51.100.1');
  t.equal((await via('198.51.100.1')).statusCode, 429, 'the noisy client is limited');
  const other = await via('198.51.100.2');
  t.equal(other.statusCode, 401, other.body);
  // Untrusted (the default): the forwarded header is ignored and the proxy's address is the key.
  for (let i = 0; i < ADDRESS_LIMIT; i++)
    await app.inject({
      method: 'POST',
      url: '/app/session',
      payload: { email: 'x@acme.test', password: 'wrong password' },
      remoteAddress: '10.9.9.8',
      headers: { 'x-forwarded-for': `203.0.113.${i}` },
    });
  const spoofed = await app.inject({
    method: 'POST',
    url: '/app/session',
    payload: { email: 'y@acme.test', password: 'wrong password' },
    remoteAddress: '10.9.9.8',
    headers: { 'x-forwarded-for': '203.0.113.250' },
  });
  t.equal(spoofed.statusCode, 429, 'a made-up X-Forwarded-For does not dodge the limit');
});
