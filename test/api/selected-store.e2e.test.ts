// The API paths that matter most, on whichever event store EVENT_STORE selects (test/support/store.ts):
// PostgreSQL by default; EVENT_STORE=esdb with EVENTSTORE_CONNECTION_STRING runs them on EventStoreDB,
// and EVENT_STORE=esdb without it skips them with the reason. Nothing here reads es_events directly.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { bookingStream } from '../../src/domain/booking.ts';
import { formatPosition } from '../../src/eventstore/position.ts';
import { rebuildProjection } from '../../src/projections/rebuild.ts';
import { bookingsProjection } from '../../src/projections/read-models/bookings.ts';
import { verifyProjection } from '../../src/projections/verify.ts';
import { testApp } from '../support/app.ts';
import { STORE } from '../support/store.ts';

const API = '/api/private/v1';
const ctx = await testApp(t, { liveProjectors: true });
const { app, services } = ctx;
const orgId = await ctx.createOrg({ name: 'Acme HVAC' });
const { token } = await ctx.token(orgId);
const headers = { authorization: `Bearer ${token}` };

if (!STORE.skipReason) t.comment(`event store: ${STORE.kind}`);

const start = new Date(Date.now() + 10 * 86_400_000);
start.setUTCHours(15, 0, 0, 0);
const body = () => ({
  customer: { name: 'Dana Diaz', phone: '+15125550199' },
  window: { start: start.toISOString(), end: new Date(start.getTime() + 7_200_000).toISOString() },
  service: { type: 'ac_repair', summary: 'AC blowing warm air' },
});
const create = (extra: Record<string, string> = {}, payload: object = body()) =>
  app.inject({ method: 'POST', url: `${API}/bookings`, headers: { ...headers, ...extra }, payload });
const get = (id: string, consistencyToken: string) =>
  app.inject({ method: 'GET', url: `${API}/bookings/${id}`, headers: { ...headers, 'consistency-token': consistencyToken } });

t.test('create answers 201 with a consistency token, and a GET with it sees the booking', async (t) => {
  const res = await create();
  t.equal(res.statusCode, 201);
  const token = res.headers['consistency-token'] as string;
  t.match(token, /^\d+\.\d+$/);
  const got = await get(res.json().id, token);
  t.equal(got.statusCode, 200, 'read-your-writes');
  t.same(got.json(), res.json(), 'the read model shows what the write returned');
  t.equal((await services.store.readStream(bookingStream(res.json().id))).length, 1, 'one event in the store');
});

t.test('the same Idempotency-Key replays the first response and appends nothing; another body under it is 409', async (t) => {
  const key = `create-${randomUUID()}`;
  const first = await create({ 'idempotency-key': key });
  t.equal(first.statusCode, 201);
  const again = await create({ 'idempotency-key': key });
  t.equal(again.statusCode, 201);
  t.equal(again.headers['idempotent-replayed'], 'true');
  t.same(again.json(), first.json());
  t.equal((await services.store.readStream(bookingStream(first.json().id))).length, 1, 'no second event');
  const other = await create({ 'idempotency-key': key }, { ...body(), customer: { name: 'Someone Else', phone: '+15125550142' } });
  t.equal(other.statusCode, 409);
  t.equal(other.json().code, 'idempotency_key_reused');
});

t.test('racing identical keyed creates make one booking: one writes, the rest replay it', async (t) => {
  const key = `race-${randomUUID()}`;
  const answers = await Promise.all(Array.from({ length: 8 }, () => create({ 'idempotency-key': key })));
  const statuses = answers.map((a) => a.statusCode);
  t.ok(
    statuses.every((s) => s === 201 || s === 409),
    `201 or 409 in progress: ${statuses.join(',')}`,
  );
  const ids = new Set(answers.filter((a) => a.statusCode === 201).map((a) => a.json().id));
  t.equal(ids.size, 1, 'one booking id');
  t.equal((await services.store.readStream(bookingStream([...ids][0] as string))).length, 1, 'one event');
});

t.test("a consistency token of another read model's event does not hold up this read model (quiet store)", async (t) => {
  const res = await create();
  t.equal(res.statusCode, 201);
  // The newest event is of another kind (a credential's): the bookings projection filters it out.
  await ctx.token(orgId, ['READ_BOOKINGS'], `Quiet ${randomUUID().slice(0, 6)}`);
  const head = await services.store.headPosition();
  t.ok(head, 'the store has a head');
  const got = await get(res.json().id, formatPosition(head!));
  t.equal(got.statusCode, 200, 'answered within the wait, not 503');
});

t.test('a rebuilt bookings read model equals the live one and keeps projecting', async (t) => {
  const before = await create();
  await rebuildProjection(services, bookingsProjection);
  t.ok((await verifyProjection(services, bookingsProjection)).ok, 'verify passes after the rebuild');
  const after = await create();
  const got = await get(after.json().id, after.headers['consistency-token'] as string);
  t.equal(got.statusCode, 200, 'a booking made after the rebuild is projected');
  t.equal((await get(before.json().id, before.headers['consistency-token'] as string)).statusCode, 200, 'and the earlier one kept');
});
