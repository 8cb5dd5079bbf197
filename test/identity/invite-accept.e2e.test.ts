// Accepting an invite cannot be used to burn CPU (issue 21 item 4): the link is looked up before any
// password hashing, acceptances are limited per address, and password hashing is bounded per process
// (503 with Retry-After beyond the bound). Real HTTP stack, real PostgreSQL.
import t from 'tap';
import { INVITE_ADDRESS_LIMIT, inviteMember } from '../../src/identity/index.ts';
import { operator, testApp } from '../support/app.ts';

const ctx = await testApp(t, { env: { PASSWORD_HASH_CONCURRENCY: '1' } });
const { app, services } = ctx;
const orgId = await ctx.createOrg({ name: 'Acme HVAC' });

async function link(email: string) {
  const invited = await inviteMember(services, operator(orgId), { orgId, email, role: 'member', byRole: 'operator' });
  return invited.url.slice(invited.url.lastIndexOf('/') + 1);
}
const accept = (token: string, ip: string, password = 'a long enough password') =>
  app.inject({ method: 'POST', url: `/app/invitations/${token}`, payload: { password }, remoteAddress: ip });
const unknown = (i: number) => `csi_${String(i).padStart(43, 'A')}`;

t.test('unknown tokens are refused by lookup, never reaching the (bounded) password hashing', async (t) => {
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => accept(unknown(i), `10.2.0.${i}`)));
  t.same(
    answers.map((a) => a.statusCode),
    Array<number>(8).fill(404),
    'no 503: with a bound of one hash at a time, eight parallel hashes would have been refused',
  );
});

t.test('parallel acceptances beyond the hashing bound get 503 with Retry-After; the refused link still works', async (t) => {
  const tokens = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((n) => link(`${n}@acme.test`)));
  const answers = await Promise.all(tokens.map((token, i) => accept(token, `10.3.0.${i}`)));
  const codes = answers.map((a) => a.statusCode);
  t.ok(codes.includes(201), `some are accepted (${codes.join(',')})`);
  const busy = answers.filter((a) => a.statusCode === 503);
  t.ok(busy.length > 0, `some are refused while another hash runs (${codes.join(',')})`);
  t.ok(busy.every((a) => Number(a.headers['retry-after']) > 0));
  for (const [i, a] of answers.entries()) {
    if (a.statusCode === 503) t.equal((await accept(tokens[i]!, '10.3.1.1')).statusCode, 201, 'the link was not used up');
  }
});

t.test(`one address gets ${INVITE_ADDRESS_LIMIT} invite attempts per window, then 429 with Retry-After`, async (t) => {
  for (let i = 0; i < INVITE_ADDRESS_LIMIT; i++) t.equal((await accept(unknown(100 + i), '10.4.0.1')).statusCode, 404);
  const token = await link('late@acme.test');
  const refused = await accept(token, '10.4.0.1');
  t.equal(refused.statusCode, 429);
  t.ok(Number(refused.headers['retry-after']) > 0);
  t.equal((await accept(token, '10.4.0.2')).statusCode, 201, 'another address is unaffected');
});
