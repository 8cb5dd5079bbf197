// scrypt at OWASP's minimum (issue 21 item 13): new hashes use N = 2^17, r = 8, p = 1, and a hash made with
// weaker parameters is replaced at the next successful sign-in, without ending any session.
import { randomBytes, scryptSync } from 'node:crypto';
import t from 'tap';
import { ensureMember, hashPassword, needsRehash, setMemberPassword, verifyPassword } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';

const ctx = await testApp(t);
const { app, services, database } = ctx;
const orgId = await ctx.createOrg({ name: 'Acme HVAC' });
const PASSWORD = 'correct horse battery staple';

/** A hash as the earlier release stored it (N = 2^15). */
function oldHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFKC'), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', 2 ** 15, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

t.test('new hashes use N = 2^17, r = 8, p = 1', async (t) => {
  const hash = await hashPassword(PASSWORD);
  t.match(hash, /^scrypt\$131072\$8\$1\$/);
  t.notOk(needsRehash(hash));
  t.ok(needsRehash(oldHash(PASSWORD)));
});

t.test('an old N = 2^15 hash still signs in once and is replaced by a 2^17 hash', async (t) => {
  const email = 'old@acme.test';
  const member = await ensureMember(services, operator(orgId), { orgId, email, role: 'member' });
  await ctx.catchUpAll();
  await setMemberPassword(services, { orgId, memberId: member.memberId, email, password: 'temporary password' });
  await database.pool.query(`update member_logins set password_hash = $1 where member_id = $2`, [oldHash(PASSWORD), member.memberId]);
  const res = await app.inject({ method: 'POST', url: '/app/session', payload: { email, password: PASSWORD } });
  t.equal(res.statusCode, 201, res.body);
  const { rows } = await database.pool.query(`select password_hash from member_logins where member_id = $1`, [member.memberId]);
  t.match(rows[0].password_hash, /^scrypt\$131072\$8\$1\$/, 're-hashed');
  t.ok(await verifyPassword(PASSWORD, rows[0].password_hash), 'the same password');
  const cookie = /cs_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
  t.equal((await app.inject({ method: 'GET', url: '/app/session', cookies: { cs_session: cookie } })).statusCode, 200, 'the session stays');
});
