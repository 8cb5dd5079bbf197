// Two servers on one database (as two `serve` processes): whatever one keeps in memory to answer faster,
// a change made through the other holds on its very next request.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { addMember, configureOrg } from '../../src/commands/orgs.ts';
import { operator, secondServer, testApp } from '../support/app.ts';

const API = '/api/private/v1';
const rateLimit = { max: 100_000, timeWindowMs: 60_000 };
// No live projectors: what makes a change visible must be the change's own call, not a background catch-up.
const ctx = await testApp(t, { server: { rateLimit } });
const serverA = ctx.app;
const serverB = await secondServer(t, ctx, { rateLimit });
const orgId = await ctx.createOrg({ name: 'Twin HVAC' });

const body = () => ({
  customer: { name: 'Dana Diaz', phone: '+15125550199' },
  window: {
    start: new Date(Date.now() + 10 * 86_400_000).toISOString(),
    end: new Date(Date.now() + 10 * 86_400_000 + 7_200_000).toISOString(),
  },
  service: { type: 'ac_repair' },
});
const create = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'POST', url: `${API}/bookings`, headers: { authorization: `Bearer ${token}` }, payload: body() });
const health = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'GET', url: `${API}/health`, headers: { authorization: `Bearer ${token}` } });

t.test('a token revoked through one server is refused by the other on its very next request', async (t) => {
  const memberId = randomUUID();
  const email = `admin-${memberId.slice(0, 6)}@example.com`;
  await addMember(ctx.services, operator(orgId), { orgId, memberId, email, role: 'admin' });
  const admin = await issueCredential(ctx.services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role: 'admin' });
  const { id, token } = await ctx.token(orgId);
  // B has answered this token (reads and writes) just before.
  t.equal((await health(serverB, token)).statusCode, 200);
  t.equal((await create(serverB, token)).statusCode, 201);

  const revoked = await serverA.inject({
    method: 'DELETE',
    url: `/api/internal/v1/tokens/${id}`,
    headers: { authorization: `Bearer ${admin.token}` },
  });
  t.equal(revoked.statusCode, 200, revoked.body);

  const refused = await create(serverB, token);
  t.equal(refused.statusCode, 401, 'the next create on B');
  t.equal(refused.json().code, 'invalid_token');
  t.equal((await health(serverB, token)).statusCode, 401, 'and the next read');
  t.equal((await create(serverA, token)).statusCode, 401, 'as on A');
});

t.test("an org's reminder offsets changed through one server shape the other's very next booking", async (t) => {
  const { token } = await ctx.token(orgId);
  const before = await create(serverB, token);
  t.equal(before.statusCode, 201);
  const offsets = (res: { json(): unknown }) =>
    (res.json() as { reminders: { offsetMinutes: number }[] }).reminders.map((r) => r.offsetMinutes).sort((x, y) => x - y);
  t.same(offsets(before), [120, 1440], 'the default offsets');

  await configureOrg(ctx.services, operator(orgId), { orgId, changes: { reminderOffsetsMinutes: [2880, 60] } });

  const after = await create(serverB, token);
  t.equal(after.statusCode, 201);
  t.same(offsets(after), [60, 2880], "the org's offsets as they are now, not as B last read them");
});
