// Idempotency-Keys across processes: two servers (each its own pool, store and in-process key map) on
// one database, receiving the same key at the same moment. Nothing in-process can serialise them.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { secondServer, testApp } from '../support/app.ts';

const API = '/api/private/v1';
const rateLimit = { max: 100_000, timeWindowMs: 60_000 };
const ctx = await testApp(t, { liveProjectors: true, server: { rateLimit } });

const other = await secondServer(t, ctx, { rateLimit });
const servers = [ctx.app, other] as const;
const orgId = await ctx.createOrg({ name: 'Twin HVAC' });
const { token } = await ctx.token(orgId);
const headers = (key?: string) => ({ authorization: `Bearer ${token}`, ...(key && { 'idempotency-key': key }) });

const windowAt = (day: number, hour = 15) => ({
  start: new Date(Date.UTC(2031, 4, 1 + day, hour)).toISOString(),
  end: new Date(Date.UTC(2031, 4, 1 + day, hour + 2)).toISOString(),
});
const createBody = (name: string, day = 1) => ({
  customer: { name, phone: '+15125550199' },
  window: windowAt(day),
  service: { type: 'ac_repair', summary: 'warm air' },
});

const create = (app: FastifyInstance, body: unknown, key?: string) =>
  app.inject({ method: 'POST', url: `${API}/bookings`, headers: headers(key), payload: body as object });
const patch = (app: FastifyInstance, id: string, body: unknown, key?: string) =>
  app.inject({ method: 'PATCH', url: `${API}/bookings/${id}`, headers: headers(key), payload: body as object });

async function createdEvents(key: string): Promise<number> {
  const { rows } = await ctx.database.pool.query<{ n: number }>(
    "select count(*)::int as n from es_events where metadata->>'idempotencyKey' = $1",
    [key],
  );
  return rows[0]!.n;
}

const ROUNDS = 12;

t.test('the same key with different bodies on two servers at once: one 201, one 409 idempotency_key_reused', async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const key = `twin-diff-${round}-${randomUUID()}`;
    const [a, b] = await Promise.all([create(servers[0], createBody('First'), key), create(servers[1], createBody('Second'), key)]);
    const statuses = [a.statusCode, b.statusCode].sort();
    t.same(statuses, [201, 409], `round ${round}: ${a.statusCode}/${b.statusCode}`);
    const loser = a.statusCode === 409 ? a : b;
    t.equal(loser.json().code, 'idempotency_key_reused');
    t.equal(await createdEvents(key), 1, 'one event for the key');
  }
});

t.test('the same key and body on two servers at once: one effect, the other replays the first response', async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const key = `twin-same-${round}-${randomUUID()}`;
    const body = createBody('Same', 2);
    const [a, b] = await Promise.all([create(servers[0], body, key), create(servers[1], body, key)]);
    t.same([a.statusCode, b.statusCode], [201, 201], `round ${round}`);
    const replayed = [a, b].filter((r) => r.headers['idempotent-replayed'] === 'true');
    t.equal(replayed.length, 1, 'exactly one response is marked replayed');
    t.same(a.json(), b.json(), 'both carry the first response body');
    t.equal(a.headers.etag, b.headers.etag);
    t.equal(await createdEvents(key), 1, 'one event for the key');
  }
});

t.test('a keyed PATCH on two servers at once: same body replays, different body is 409', async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const created = (await create(servers[0], createBody(`Patch ${round}`, 3))).json() as { id: string };
    const sameKey = `twin-patch-same-${round}-${randomUUID()}`;
    const reschedule = { window: windowAt(4 + (round % 5)), reason: 'customer asked' };
    const [a, b] = await Promise.all([
      patch(servers[0], created.id, reschedule, sameKey),
      patch(servers[1], created.id, reschedule, sameKey),
    ]);
    t.same([a.statusCode, b.statusCode], [200, 200], `round ${round} same body`);
    t.equal([a, b].filter((r) => r.headers['idempotent-replayed'] === 'true').length, 1, 'one of them is the replay');
    t.same(a.json(), b.json());
    t.equal(await createdEvents(sameKey), 1);

    const diffKey = `twin-patch-diff-${round}-${randomUUID()}`;
    const [c, d] = await Promise.all([
      patch(servers[0], created.id, { window: windowAt(12 + (round % 5)) }, diffKey),
      patch(servers[1], created.id, { status: 'canceled', reason: 'gone' }, diffKey),
    ]);
    t.same([c.statusCode, d.statusCode].sort(), [200, 409], `round ${round} different bodies: ${c.statusCode}/${d.statusCode}`);
    t.equal((c.statusCode === 409 ? c : d).json().code, 'idempotency_key_reused');
    t.equal(await createdEvents(diffKey), 1);
  }
});

t.test('a key is one request per org: PATCH of A then PATCH of B, or a PATCH then a create, is 409', async (t) => {
  const first = (await create(servers[0], createBody('A', 5))).json() as { id: string };
  const second = (await create(servers[0], createBody('B', 6))).json() as { id: string };
  const key = `one-request-${randomUUID()}`;
  const ok = await patch(servers[0], first.id, { window: windowAt(7) }, key);
  t.equal(ok.statusCode, 200);
  const onB = await patch(servers[1], second.id, { window: windowAt(7) }, key);
  t.equal(onB.statusCode, 409, 'the same key on another booking');
  t.equal(onB.json().code, 'idempotency_key_reused');
  const asCreate = await create(servers[1], createBody('C', 8), key);
  t.equal(asCreate.statusCode, 409, 'the same key for a create');
  t.equal(asCreate.json().code, 'idempotency_key_reused');
  const retry = await patch(servers[1], first.id, { window: windowAt(7) }, key);
  t.equal(retry.statusCode, 200, 'the original request retried on the other server replays');
  t.equal(retry.headers['idempotent-replayed'], 'true');
  t.equal(await createdEvents(key), 1, 'one event carries the key');
  const { rows } = await ctx.database.pool.query<{ n: number }>(
    "select count(*)::int as n from es_events where event_type = 'BookingCreated' and metadata->>'orgId' = $1",
    [orgId],
  );
  const before = rows[0]!.n;
  t.equal((await create(servers[0], createBody('C', 8), key)).statusCode, 409);
  const { rows: after } = await ctx.database.pool.query<{ n: number }>(
    "select count(*)::int as n from es_events where event_type = 'BookingCreated' and metadata->>'orgId' = $1",
    [orgId],
  );
  t.equal(after[0]!.n, before, 'a refused create writes nothing');
});
