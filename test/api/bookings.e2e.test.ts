import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { issueCredential, revokeCredential } from '../../src/identity/index.ts';
import { idFromKey } from '../../src/domain/ids.ts';
import { testApp, operator } from '../support/app.ts';
import { checkResponsesAgainstOpenApi } from '../support/openapi.ts';

const API = '/api/private/v1';
const ctx = await testApp(t, { liveProjectors: true, server: { rateLimit: { max: 10_000, timeWindowMs: 60_000 } } });
const { app, services } = ctx;
const conformance = await checkResponsesAgainstOpenApi(app);

const orgA = await ctx.createOrg({ name: 'Acme HVAC' });
const orgB = await ctx.createOrg({ name: 'Borealis Heating', timezone: 'America/Denver' });
const a = await ctx.token(orgA);
const b = await ctx.token(orgB);
const readOnly = await ctx.token(orgA, ['READ_BOOKINGS'], 'Read-only board');

const future = (days: number, hour = 15) => {
  const d = new Date(Date.now() + days * 86_400_000);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
};
const windowAt = (days: number, hours = 2) => ({
  start: future(days),
  end: new Date(Date.parse(future(days)) + hours * 3_600_000).toISOString(),
});
const bookingBody = (overrides: Record<string, unknown> = {}) => ({
  customer: { name: 'Dana Diaz', phone: '+15125550199', email: 'dana@example.com' },
  window: windowAt(10),
  service: { type: 'ac_repair', summary: 'AC blowing warm air' },
  ...overrides,
});
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function eventCount(): Promise<number> {
  const { rows } = await ctx.database.pool.query<{ n: string }>('select count(*) as n from es_events');
  return Number(rows[0]!.n);
}

async function create(token = a.token, body: unknown = bookingBody(), headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: `${API}/bookings`, headers: { ...bearer(token), ...headers }, payload: body as object });
}

function assertProblem(
  t: Test,
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  t.equal(res.statusCode, status, `status ${status}`);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  t.equal(body.code, code, `code ${code}`);
  t.equal(body.status, status);
  t.equal(body.type, `/docs/problems/${code}`);
  t.type(body.title, 'string');
  t.type(body.detail, 'string');
  t.equal(body.requestId, res.headers['request-id']);
  return body;
}

t.test('health names the credential, its scopes and org', async (t) => {
  const res = await app.inject({ method: 'GET', url: `${API}/health`, headers: bearer(a.token) });
  t.equal(res.statusCode, 200);
  t.same(res.json(), {
    credential: { id: a.id, label: 'Test integration' },
    actorType: 'integration',
    scopes: ['READ_BOOKINGS', 'WRITE_BOOKINGS'],
    orgId: orgA,
  });
  t.match(res.headers['request-id'], /^[0-9a-f-]{36}$/);
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('create answers 201 with the booking, Location, ETag and a consistency token', async (t) => {
  const before = await eventCount();
  const res = await create();
  t.equal(res.statusCode, 201);
  const booking = res.json();
  t.match(booking, {
    orgId: orgA,
    status: 'scheduled',
    timezone: 'America/Chicago',
    customer: { name: 'Dana Diaz', phone: '+15125550199', email: 'dana@example.com' },
    service: { type: 'ac_repair' },
    source: { actorType: 'integration', actorId: a.id, label: 'Test integration' },
    confirmation: { status: 'pending' },
    version: 1,
  });
  t.equal(booking.reminders.length, 2, 'reminders at the default 24 h and 2 h offsets');
  t.equal(res.headers.location, `${API}/bookings/${booking.id}`);
  t.equal(res.headers.etag, '"1"');
  t.match(res.headers['consistency-token'], /^\d+\.\d+$/);
  t.equal(await eventCount(), before + 1, 'one event appended');

  const got = await app.inject({
    method: 'GET',
    url: `${API}/bookings/${booking.id}`,
    headers: { ...bearer(a.token), 'consistency-token': res.headers['consistency-token'] as string },
  });
  t.equal(got.statusCode, 200, 'read-your-writes with the consistency token');
  t.same(got.json(), booking, 'the read model shows what the write returned');
  t.equal(got.headers.etag, '"1"');
});

t.test('reschedule and cancel through PATCH; history is kept', async (t) => {
  const created = (await create()).json();
  const w = windowAt(12, 3);
  const moved = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${created.id}`,
    headers: bearer(a.token),
    payload: { window: w, reason: 'customer asked' },
  });
  t.equal(moved.statusCode, 200);
  t.same(moved.json().window, w);
  t.equal(moved.json().version, 2);
  t.equal(moved.headers.etag, '"2"');

  const canceled = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${created.id}`,
    headers: { ...bearer(a.token), 'if-match': '"2"' },
    payload: { status: 'canceled', reason: 'no longer needed' },
  });
  t.equal(canceled.statusCode, 200);
  t.match(canceled.json(), { status: 'canceled', cancelReason: 'no longer needed', window: w, version: 3 });
  t.type(canceled.json().canceledAt, 'string');

  const again = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${created.id}`,
    headers: bearer(a.token),
    payload: { status: 'canceled' },
  });
  assertProblem(t, again, 409, 'booking_state_conflict');
  const reschedule = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${created.id}`,
    headers: bearer(a.token),
    payload: { window: windowAt(14) },
  });
  assertProblem(t, reschedule, 409, 'booking_state_conflict');
});

t.test('If-Match with another version is 412 and changes nothing', async (t) => {
  const created = (await create()).json();
  const before = await eventCount();
  const res = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${created.id}`,
    headers: { ...bearer(a.token), 'if-match': '"7"' },
    payload: { window: windowAt(20) },
  });
  assertProblem(t, res, 412, 'version_mismatch');
  t.equal(await eventCount(), before);
});

t.test('list returns bookings in [from, to) by window start then id, paginated, filtered by status', async (t) => {
  const org = await ctx.createOrg({ name: 'Listing Co' });
  const { token } = await ctx.token(org);
  const ids: string[] = [];
  let last = '';
  for (let day = 30; day < 35; day++) {
    const res = await create(token, bookingBody({ window: windowAt(day) }));
    ids.push(res.json().id);
    last = res.headers['consistency-token'] as string;
  }
  const cancel = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${ids[1]}`,
    headers: bearer(token),
    payload: { status: 'canceled' },
  });
  last = cancel.headers['consistency-token'] as string;
  const from = future(29);
  const to = future(36);
  const page1 = await app.inject({
    method: 'GET',
    url: `${API}/bookings?from=${from}&to=${to}&limit=2`,
    headers: { ...bearer(token), 'consistency-token': last },
  });
  t.equal(page1.statusCode, 200);
  t.same(
    page1.json().data.map((b: { id: string }) => b.id),
    ids.slice(0, 2),
  );
  t.type(page1.json().nextCursor, 'string');
  const page2 = await app.inject({
    method: 'GET',
    url: `${API}/bookings?from=${from}&to=${to}&limit=2&cursor=${page1.json().nextCursor}`,
    headers: bearer(token),
  });
  t.same(
    page2.json().data.map((b: { id: string }) => b.id),
    ids.slice(2, 4),
  );
  const page3 = await app.inject({
    method: 'GET',
    url: `${API}/bookings?from=${from}&to=${to}&limit=2&cursor=${page2.json().nextCursor}`,
    headers: bearer(token),
  });
  t.same(
    page3.json().data.map((b: { id: string }) => b.id),
    ids.slice(4),
  );
  t.equal(page3.json().nextCursor, null);
  const canceled = await app.inject({
    method: 'GET',
    url: `${API}/bookings?from=${from}&to=${to}&status=canceled`,
    headers: bearer(token),
  });
  t.same(
    canceled.json().data.map((b: { id: string }) => b.id),
    [ids[1]],
  );
  const both = await app.inject({
    method: 'GET',
    url: `${API}/bookings?from=${from}&to=${to}&status=scheduled,canceled`,
    headers: bearer(token),
  });
  t.equal(both.json().data.length, 5);
  const excluded = await app.inject({ method: 'GET', url: `${API}/bookings?from=${future(30)}&to=${future(31)}`, headers: bearer(token) });
  t.same(
    excluded.json().data.map((b: { id: string }) => b.id),
    [ids[0]],
    'to is exclusive',
  );
});

t.test('authentication failures are 401 with the right WWW-Authenticate', async (t) => {
  for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer' }]) {
    const res = await app.inject({ method: 'GET', url: `${API}/health`, headers });
    assertProblem(t, res, 401, 'unauthorized');
    t.equal(res.headers['www-authenticate'], 'Bearer realm="callsnare"');
  }
  const unknown = await app.inject({
    method: 'GET',
    url: `${API}/health`,
    headers: bearer('cs_live_notarealtokenatallnotarealtoken123456'),
  });
  assertProblem(t, unknown, 401, 'invalid_token');
  t.equal(unknown.headers['www-authenticate'], 'Bearer realm="callsnare", error="invalid_token"');

  const expired = await issueCredential(services, operator(orgA), {
    orgId: orgA,
    label: 'old',
    kind: 'integration',
    scopes: ['READ_BOOKINGS'],
    expiresAt: new Date(Date.now() - 1000).toISOString(),
  });
  await ctx.catchUpAll();
  const res = await app.inject({ method: 'GET', url: `${API}/health`, headers: bearer(expired.token) });
  assertProblem(t, res, 401, 'invalid_token');

  const member = await ctx.memberToken(orgA, 'owner');
  assertProblem(t, await app.inject({ method: 'GET', url: `${API}/health`, headers: bearer(member.token) }), 401, 'invalid_token');
});

t.test('a revoked token gets 401 on its very next request', async (t) => {
  const { id, token } = await ctx.token(orgA, ['READ_BOOKINGS'], 'soon revoked');
  t.equal((await app.inject({ method: 'GET', url: `${API}/health`, headers: bearer(token) })).statusCode, 200);
  await revokeCredential(services, operator(orgA), id);
  await ctx.catchUpAll();
  const res = await app.inject({ method: 'GET', url: `${API}/health`, headers: bearer(token) });
  assertProblem(t, res, 401, 'invalid_token');
});

t.test('a token without the scope gets 403 naming it, and nothing is written', async (t) => {
  const writeOnly = await ctx.token(orgA, ['WRITE_BOOKINGS'], 'write only');
  const before = await eventCount();
  const res = await create(readOnly.token);
  assertProblem(t, res, 403, 'insufficient_scope');
  t.equal(res.headers['www-authenticate'], 'Bearer realm="callsnare", error="insufficient_scope", scope="WRITE_BOOKINGS"');
  const patch = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${randomUUID()}`,
    headers: bearer(readOnly.token),
    payload: { status: 'canceled' },
  });
  assertProblem(t, patch, 403, 'insufficient_scope');
  const read = await app.inject({ method: 'GET', url: `${API}/bookings/${randomUUID()}`, headers: bearer(writeOnly.token) });
  assertProblem(t, read, 403, 'insufficient_scope');
  t.match(read.headers['www-authenticate'], /scope="READ_BOOKINGS"/);
  t.equal(await eventCount(), before);
});

t.test("another org's booking is 404 on every route, identical to an absent one", async (t) => {
  const created = await create(a.token);
  const id = created.json().id;
  await ctx.catchUpAll();
  const before = await eventCount();
  const theirs = await app.inject({ method: 'GET', url: `${API}/bookings/${id}`, headers: bearer(b.token) });
  const absent = await app.inject({ method: 'GET', url: `${API}/bookings/${randomUUID()}`, headers: bearer(b.token) });
  const p1 = assertProblem(t, theirs, 404, 'not_found');
  const p2 = assertProblem(t, absent, 404, 'not_found');
  t.equal(p1.detail, p2.detail, 'same detail: existence never leaks');
  assertProblem(
    t,
    await app.inject({ method: 'PATCH', url: `${API}/bookings/${id}`, headers: bearer(b.token), payload: { status: 'canceled' } }),
    404,
    'not_found',
  );
  assertProblem(
    t,
    await app.inject({ method: 'PATCH', url: `${API}/bookings/${id}`, headers: bearer(b.token), payload: { window: windowAt(40) } }),
    404,
    'not_found',
  );
  const list = await app.inject({ method: 'GET', url: `${API}/bookings?from=${future(0)}&to=${future(60)}`, headers: bearer(b.token) });
  t.notOk(
    list.json().data.some((x: { id: string }) => x.id === id),
    "B's list never shows A's booking",
  );
  t.equal(await eventCount(), before, 'nothing appended');
});

t.test('bad input gets 400 with errors[] and appends nothing', async (t) => {
  const before = await eventCount();
  const cases: [string, () => Promise<{ statusCode: number; headers: Record<string, unknown>; json(): unknown }>, string][] = [
    [
      'malformed JSON',
      () =>
        app.inject({
          method: 'POST',
          url: `${API}/bookings`,
          headers: { ...bearer(a.token), 'content-type': 'application/json' },
          payload: '{"customer":',
        }),
      'body',
    ],
    ['unknown field', () => create(a.token, bookingBody({ color: 'blue' })), 'body'],
    ['end not after start', () => create(a.token, bookingBody({ window: { start: future(5), end: future(5) } })), 'body.window.end'],
    ['window over 12 h', () => create(a.token, bookingBody({ window: { start: future(5, 1), end: future(5, 14) } })), 'body.window.end'],
    ['phone not E.164', () => create(a.token, bookingBody({ customer: { name: 'X', phone: '512-555-0199' } })), 'body.customer.phone'],
    ['bad time zone', () => create(a.token, bookingBody({ timezone: 'Mars/Olympus' })), 'body.timezone'],
    ['missing window', () => create(a.token, { customer: { name: 'X', phone: '+15125550100' } }), 'body.window'],
    [
      'range over 93 days',
      () => app.inject({ method: 'GET', url: `${API}/bookings?from=${future(1)}&to=${future(95)}`, headers: bearer(a.token) }),
      'querystring.to',
    ],
    [
      'missing to',
      () => app.inject({ method: 'GET', url: `${API}/bookings?from=${future(1)}`, headers: bearer(a.token) }),
      'querystring.to',
    ],
    [
      'bad cursor',
      () =>
        app.inject({ method: 'GET', url: `${API}/bookings?from=${future(1)}&to=${future(2)}&cursor=garbage`, headers: bearer(a.token) }),
      'querystring.cursor',
    ],
    [
      'limit over 200',
      () => app.inject({ method: 'GET', url: `${API}/bookings?from=${future(1)}&to=${future(2)}&limit=500`, headers: bearer(a.token) }),
      'querystring.limit',
    ],
    [
      'bad status',
      () => app.inject({ method: 'GET', url: `${API}/bookings?from=${future(1)}&to=${future(2)}&status=done`, headers: bearer(a.token) }),
      'querystring.status',
    ],
    [
      'path not a uuid',
      () => app.inject({ method: 'GET', url: `${API}/bookings/not-a-uuid`, headers: bearer(a.token) }),
      'params.bookingId',
    ],
    [
      'PATCH with both shapes',
      () =>
        app.inject({
          method: 'PATCH',
          url: `${API}/bookings/${randomUUID()}`,
          headers: bearer(a.token),
          payload: { status: 'canceled', window: windowAt(3) },
        }),
      'body',
    ],
    [
      'PATCH with neither',
      () => app.inject({ method: 'PATCH', url: `${API}/bookings/${randomUUID()}`, headers: bearer(a.token), payload: { reason: 'x' } }),
      'body',
    ],
    ['bad Idempotency-Key', () => create(a.token, bookingBody(), { 'idempotency-key': 'x'.repeat(256) }), 'headers.idempotency-key'],
    [
      'bad If-Match',
      () =>
        app.inject({
          method: 'PATCH',
          url: `${API}/bookings/${randomUUID()}`,
          headers: { ...bearer(a.token), 'if-match': 'yesterday' },
          payload: { status: 'canceled' },
        }),
      'headers.if-match',
    ],
    [
      'bad consistency token',
      () =>
        app.inject({ method: 'GET', url: `${API}/bookings/${randomUUID()}`, headers: { ...bearer(a.token), 'consistency-token': 'abc' } }),
      'headers.consistency-token',
    ],
  ];
  for (const [name, run, path] of cases) {
    const res = await run();
    const body = assertProblem(t, res, 400, (res.json() as { code: string }).code);
    t.ok(
      Array.isArray(body.errors) && (body.errors as { path: string }[]).some((e) => e.path.startsWith(path)),
      `${name}: errors name ${path}`,
    );
  }
  t.equal(await eventCount(), before, 'nothing appended by any bad request');
});

t.test('a body over 64 KiB is 413 and appends nothing', async (t) => {
  const before = await eventCount();
  const res = await create(a.token, bookingBody({ notes: 'x'.repeat(70 * 1024) }));
  assertProblem(t, res, 413, 'payload_too_large');
  t.equal(await eventCount(), before);
});

t.test('the same Idempotency-Key and request replays the first response', async (t) => {
  const key = `create-${randomUUID()}`;
  const body = bookingBody();
  const first = await create(a.token, body, { 'idempotency-key': key });
  t.equal(first.statusCode, 201);
  const before = await eventCount();
  const second = await create(a.token, body, { 'idempotency-key': `"${key}"` });
  t.equal(second.statusCode, 201);
  t.equal(second.headers['idempotent-replayed'], 'true');
  t.same(second.json(), first.json(), 'same body');
  t.equal(second.headers.location, first.headers.location);
  t.equal(await eventCount(), before, 'no second event');
  t.equal(first.json().id, idFromKey(orgA, key), 'the id derives from org and key');
});

t.test('reusing an Idempotency-Key for a different request is 409 idempotency_key_reused', async (t) => {
  const key = `reuse-${randomUUID()}`;
  await create(a.token, bookingBody(), { 'idempotency-key': key });
  const before = await eventCount();
  assertProblem(t, await create(a.token, bookingBody({ notes: 'different' }), { 'idempotency-key': key }), 409, 'idempotency_key_reused');
  const other = (await create()).json();
  const patch = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${other.id}`,
    headers: { ...bearer(a.token), 'idempotency-key': key },
    payload: { status: 'canceled' },
  });
  assertProblem(t, patch, 409, 'idempotency_key_reused');
  t.equal(await eventCount(), before + 1, 'only the unkeyed create appended');
  const otherOrg = await create(b.token, bookingBody(), { 'idempotency-key': key });
  t.equal(otherOrg.statusCode, 201, 'keys are scoped to the org');
});

t.test('a keyed PATCH replays and a retry after a change still replays the first answer', async (t) => {
  const created = (await create()).json();
  const key = `patch-${randomUUID()}`;
  const payload = { window: windowAt(21) };
  const first = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${created.id}`,
    headers: { ...bearer(a.token), 'idempotency-key': key },
    payload,
  });
  t.equal(first.statusCode, 200);
  await app.inject({ method: 'PATCH', url: `${API}/bookings/${created.id}`, headers: bearer(a.token), payload: { window: windowAt(22) } });
  const retry = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${created.id}`,
    headers: { ...bearer(a.token), 'idempotency-key': key },
    payload,
  });
  t.equal(retry.statusCode, 200);
  t.equal(retry.headers['idempotent-replayed'], 'true');
  t.same(retry.json(), first.json(), 'the first response, not the current state');
  const different = await app.inject({
    method: 'PATCH',
    url: `${API}/bookings/${created.id}`,
    headers: { ...bearer(a.token), 'idempotency-key': key },
    payload: { status: 'canceled' },
  });
  assertProblem(t, different, 409, 'idempotency_key_reused');
});

t.test('50 concurrent identical creates produce one booking and one event', async (t) => {
  const key = `burst-${randomUUID()}`;
  const body = bookingBody();
  const before = await eventCount();
  const responses = await Promise.all(Array.from({ length: 50 }, () => create(a.token, body, { 'idempotency-key': key })));
  const ok = responses.filter((r) => r.statusCode === 201);
  const inProgress = responses.filter((r) => r.statusCode === 409 && r.json().code === 'idempotency_request_in_progress');
  t.equal(ok.length + inProgress.length, 50, 'every answer is the result or 409 in-progress');
  t.ok(ok.length >= 1);
  t.equal(new Set(ok.map((r) => r.json().id)).size, 1, 'one booking id');
  t.equal(new Set(ok.map((r) => JSON.stringify(r.json()))).size, 1, 'the same body for all');
  t.equal(await eventCount(), before + 1, 'exactly one event');
});

t.test('concurrent identical keyed PATCHes produce one event', async (t) => {
  const created = (await create()).json();
  const key = `patch-burst-${randomUUID()}`;
  const before = await eventCount();
  const responses = await Promise.all(
    Array.from({ length: 20 }, () =>
      app.inject({
        method: 'PATCH',
        url: `${API}/bookings/${created.id}`,
        headers: { ...bearer(a.token), 'idempotency-key': key },
        payload: { status: 'canceled' },
      }),
    ),
  );
  t.ok(responses.every((r) => r.statusCode === 200 || (r.statusCode === 409 && r.json().code === 'idempotency_request_in_progress')));
  t.equal(await eventCount(), before + 1);
});

t.test('a request whose key is still being processed gets 409 in-progress with Retry-After', async (t) => {
  const key = `slow-${randomUUID()}`;
  // Hold the stream's row so the first append waits, as a slow database would make it.
  const blocker = await ctx.database.pool.connect();
  const body = bookingBody();
  let first: ReturnType<typeof create>;
  try {
    await blocker.query('begin');
    // A table lock, not a row write: it takes no transaction id, so it does not hold back every other
    // reader's visibility horizon on the server while it waits (see waitForHead).
    // Only es_events: authentication reads es_streams (the org's head) and must get past it.
    await blocker.query('lock table es_events in access exclusive mode');
    first = create(a.token, body, { 'idempotency-key': key });
    await new Promise((r) => setTimeout(r, 100));
    const second = await create(a.token, body, { 'idempotency-key': key });
    assertProblem(t, second, 409, 'idempotency_request_in_progress');
    t.equal(second.headers['retry-after'], '1');
  } finally {
    await blocker.query('rollback').catch(() => {});
    blocker.release();
  }
  t.equal((await first).statusCode, 201, 'the first completes once unblocked');
  const third = await create(a.token, body, { 'idempotency-key': key });
  t.equal(third.headers['idempotent-replayed'], 'true');
});

t.test('a Consistency-Token past the newest event was never ours: 400 at once (a pending one is 503: openapi.e2e)', async (t) => {
  const res = await app.inject({
    method: 'GET',
    url: `${API}/bookings/${randomUUID()}`,
    headers: { ...bearer(a.token), 'consistency-token': '999999999999.1' },
  });
  assertProblem(t, res, 400, 'validation_failed');
  t.match(res.json().detail, /past the newest event/);
});

t.test('unknown routes are problem+json 404 too', async (t) => {
  assertProblem(t, await app.inject({ method: 'GET', url: `${API}/nothing-here`, headers: bearer(a.token) }), 404, 'not_found');
});

t.test('the OpenAPI document lists every protected route from the validating schemas', async (t) => {
  const res = await app.inject({ method: 'GET', url: `${API}/openapi.json` });
  t.equal(res.statusCode, 200);
  const doc = res.json();
  t.equal(doc.openapi, '3.1.0');
  t.same(Object.keys(doc.paths).sort(), ['/availability', '/bookings', '/bookings/{bookingId}', '/health', '/leads/{leadId}/summary']);
  t.same(Object.keys(doc.paths['/bookings/{bookingId}']).sort(), ['get', 'patch']);
  t.ok(doc.components.schemas.Booking, 'Booking schema');
  const params = doc.paths['/bookings'].get.parameters.map((p: { name: string }) => p.name).sort();
  t.same(params, ['cursor', 'from', 'limit', 'status', 'to']);
});

t.test('rate limit per credential answers 429 with Retry-After and RateLimit headers', async (t) => {
  const limited = await testApp(t, { server: { rateLimit: { max: 3, timeWindowMs: 60_000 } } });
  const org = await limited.createOrg();
  const one = await limited.token(org, ['READ_BOOKINGS'], 'one');
  const two = await limited.token(org, ['READ_BOOKINGS'], 'two');
  const call = (token: string) => limited.app.inject({ method: 'GET', url: `${API}/health`, headers: bearer(token) });
  for (let i = 0; i < 3; i++) t.equal((await call(one.token)).statusCode, 200);
  const res = await call(one.token);
  assertProblem(t, res, 429, 'rate_limited');
  t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After');
  t.equal(res.headers['ratelimit-limit'], '3');
  t.equal(res.headers['ratelimit-remaining'], '0');
  t.equal((await call(two.token)).statusCode, 200, 'another credential has its own budget');
});

t.test('every response of this file conforms to the published OpenAPI document', async (t) => {
  t.ok(conformance.checked() > 50, `${conformance.checked()} responses checked`);
  t.same(conformance.problems(), [], 'status, content type, headers and body as documented');
});
