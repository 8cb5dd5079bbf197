// Guessing tokens is throttled before any database lookup (issue 21 item 18): past the limit of failed
// Bearer authentications from one address, answers are 429 with Retry-After; other addresses are unaffected.
import t from 'tap';
import { AUTH_FAILURE_LIMIT } from '../../src/identity/index.ts';
import { testApp } from '../support/app.ts';

const ctx = await testApp(t);
const { app } = ctx;
const orgId = await ctx.createOrg();
const { token } = await ctx.token(orgId);
const wrong = (i: number) => `cs_live_${String(i).padStart(30, '0')}`;
const health = (bearer: string, ip: string) =>
  app.inject({ method: 'GET', url: '/api/private/v1/health', headers: { authorization: `Bearer ${bearer}` }, remoteAddress: ip });

t.test(`after ${AUTH_FAILURE_LIMIT} wrong tokens from one address, the next is 429 with Retry-After, even a right one`, async (t) => {
  const codes = [];
  for (let i = 0; i < AUTH_FAILURE_LIMIT; i++) codes.push((await health(wrong(i), '10.7.0.1')).statusCode);
  t.ok(
    codes.every((c) => c === 401),
    'each wrong token is 401 until the limit',
  );
  const refused = await health(wrong(999), '10.7.0.1');
  t.equal(refused.statusCode, 429);
  t.ok(Number(refused.headers['retry-after']) > 0);
  t.equal((await health(token, '10.7.0.1')).statusCode, 429, 'the address waits');
  t.equal((await health(token, '10.7.0.2')).statusCode, 200, 'another address is unaffected');
});
