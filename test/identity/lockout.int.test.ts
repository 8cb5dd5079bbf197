// A lockout is no denial of service (issue 21 item 7): past 5 attempts an account is locked only for the
// addresses that failed on it, so a right password from an address with no recent failure still signs in;
// past 100 attempts in the window (guessing spread over many addresses) it waits whoever asks.
// Real HTTP stack, real PostgreSQL.
import { sql } from 'kysely';
import t from 'tap';
import { ACCOUNT_CEILING, ACCOUNT_LIMIT, ensureMember, setMemberPassword } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';

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

t.test("someone else's failures do not lock the owner out: a clean address's right password signs in", async (t) => {
  await person('owner-dos@acme.test');
  for (let i = 0; i < ACCOUNT_LIMIT + 3; i++) await signIn('owner-dos@acme.test', 'wrong password', '10.2.0.1');
  t.equal((await signIn('owner-dos@acme.test', PASSWORD, '10.2.0.1')).statusCode, 429, 'the guessing address waits, right password or not');
  const owner = await signIn('owner-dos@acme.test', PASSWORD, '10.2.0.2');
  t.equal(owner.statusCode, 201, 'the owner, from an address with no failures, signs in');
  // A clean address gets its password checked, but one wrong guess makes it a failing address.
  for (let i = 0; i < ACCOUNT_LIMIT + 1; i++) await signIn('owner-dos@acme.test', 'wrong password', '10.2.0.1');
  t.equal((await signIn('owner-dos@acme.test', 'wrong password', '10.2.0.3')).statusCode, 401, 'checked, and wrong');
  t.equal((await signIn('owner-dos@acme.test', PASSWORD, '10.2.0.3')).statusCode, 429, 'after its failure that address waits too');
});

t.test(`past ${ACCOUNT_CEILING} attempts in the window the account waits whoever asks`, async (t) => {
  await person('ceiling@acme.test');
  // Given: the ceiling reached by many addresses (each one clean), as a spread-out guesser would.
  await sql`insert into login_attempts (key, window_started_at, attempts) values (${'account:ceiling@acme.test'}, now(), ${ACCOUNT_CEILING})`.execute(
    services.db,
  );
  const refused = await signIn('ceiling@acme.test', PASSWORD, '10.3.0.1');
  t.equal(refused.statusCode, 429);
  t.ok(Number(refused.headers['retry-after']) > 0);
});
