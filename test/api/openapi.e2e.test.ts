import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { InjectOptions } from 'fastify';
import t, { type Test } from 'tap';
import { ROUTE_RESPONSES } from '../../src/http/api/private/v1/responses.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { recordMissedCall } from '../../src/commands/leads.ts';
import { formatPosition } from '../../src/eventstore/position.ts';
import { openApiResponseValidator } from '../support/openapi.ts';
import { operator, testApp, type TestApp } from '../support/app.ts';

const API = '/api/private/v1';
const BUSINESS = '+15125550100';
const ctx = await testApp(t);
const org = await ctx.createOrg({ phones: [BUSINESS] });
const otherOrg = await ctx.createOrg();
await configureOrg(ctx.services, operator(org), { orgId: org, changes: { enabledActions: ['availability', 'lead_summary'] } });
const full = await ctx.token(org, ['READ_BOOKINGS', 'WRITE_BOOKINGS', 'READ_AVAILABILITY', 'READ_LEAD_SUMMARY']);
const readOnly = await ctx.token(org, ['READ_BOOKINGS']);
const summaryOnly = await ctx.token(org, ['READ_LEAD_SUMMARY']);
const other = await ctx.token(otherOrg, ['READ_BOOKINGS', 'READ_AVAILABILITY', 'READ_LEAD_SUMMARY']);
const provider = { orgId: org, actor: { type: 'provider' as const, id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
const { lead } = await recordMissedCall(ctx.services, provider, {
  callSid: `CA${randomUUID().replaceAll('-', '')}`,
  from: '+15125550199',
  to: BUSINESS,
  callStatus: 'no-answer',
  calledAt: new Date().toISOString(),
});
await ctx.catchUpAll();

const documentResponse = await ctx.app.inject({ method: 'GET', url: `${API}/openapi.json` });
const document = documentResponse.json();
const check = openApiResponseValidator(document);

/** Statuses seen per operation, to show every documented response was provoked. */
const seen = new Map<string, Set<number>>();

/** Sends a request and validates the real response against the published document. */
async function call(t: Test, app: TestApp, options: InjectOptions & { method: string; url: string }, expected: number) {
  const res = await app.app.inject(options);
  const what = `${options.method} ${options.url.split('?')[0]}`;
  t.equal(res.statusCode, expected, `${what} → ${expected}${res.statusCode !== expected ? ` (${res.body.slice(0, 300)})` : ''}`);
  t.same(check(options.method, options.url, res), [], `${what} → ${res.statusCode} conforms to the document`);
  const template = Object.keys(ROUTE_RESPONSES).find((key) => {
    const [method, path] = key.split(' ') as [string, string];
    return method === options.method && new RegExp(`^${API}${path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(options.url.split('?')[0]!);
  });
  if (template) seen.set(template, (seen.get(template) ?? new Set()).add(res.statusCode));
  return res;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = (token: string, extra: Record<string, string> = {}) => ({ ...bearer(token), 'content-type': 'application/json', ...extra });
const visit = (day: number) => ({
  customer: { name: 'Dana Diaz', phone: '+15125550199' },
  window: { start: `2031-06-${String(day).padStart(2, '0')}T15:00:00Z`, end: `2031-06-${String(day).padStart(2, '0')}T17:00:00Z` },
});
const range = 'from=2031-06-01T00:00:00Z&to=2031-07-01T00:00:00Z';
/**
 * A real write's Consistency-Token that no projector has applied yet (these tests run none): a read sent
 * with it waits its 5 s and answers 503. (A token past the newest event is refused at once with 400.)
 */
async function pendingToken(of: 'booking' | 'lead'): Promise<string> {
  if (of === 'booking') {
    const later = { ...visit(1), window: { start: '2032-01-05T15:00:00Z', end: '2032-01-05T17:00:00Z' } };
    const res = await ctx.app.inject({ method: 'POST', url: `${API}/bookings`, headers: json(full.token), payload: later });
    return res.headers['consistency-token'] as string;
  }
  await recordMissedCall(ctx.services, provider, {
    callSid: `CA${randomUUID().replaceAll('-', '')}`,
    from: '+15125550198',
    to: BUSINESS,
    callStatus: 'no-answer',
    calledAt: new Date().toISOString(),
  });
  return formatPosition((await ctx.services.store.newestPosition())!);
}

t.test('the published document is valid OpenAPI 3.1', async (t) => {
  t.equal(documentResponse.statusCode, 200);
  t.equal(document.openapi, '3.1.0');
  const validator = new Validator();
  const result = await validator.validate(document);
  t.same(result.errors ?? [], [], 'no schema violation');
  t.ok(result.valid, 'valid');
  t.equal(validator.version, '3.1');
});

t.test('every route and status of the table is in the document, with problem+json errors and their headers', async (t) => {
  const routes = ctx.app.routeRegistry.filter((r) => r.url.startsWith(`${API}/`) && !r.url.endsWith('/openapi.json'));
  t.same(
    routes.map((r) => `${r.method} ${r.url.slice(API.length).replace(/:(\w+)/g, '{$1}')}`).sort(),
    Object.keys(ROUTE_RESPONSES).sort(),
    'the table lists exactly the routes the protected API serves',
  );
  for (const [key, table] of Object.entries(ROUTE_RESPONSES)) {
    const [method, path] = key.split(' ') as [string, string];
    const operation = document.paths[path]?.[method.toLowerCase()];
    t.ok(operation, `${key} is documented`);
    t.same(
      Object.keys(operation.responses).map(Number).sort(),
      [table.success, ...table.errors].sort(),
      `${key}: its success and every error status`,
    );
    for (const status of table.errors) {
      const response = operation.responses[status];
      t.same(Object.keys(response.content), ['application/problem+json'], `${key} ${status} is problem+json`);
      t.same(response.content['application/problem+json'].schema, { $ref: '#/components/schemas/Problem' });
      t.equal(response.headers['Request-Id'].required, true);
    }
  }
  const post = document.paths['/bookings'].post.responses;
  t.same(Object.keys(post['201'].headers).sort(), [
    'Cache-Control',
    'Consistency-Token',
    'ETag',
    'Idempotent-Replayed',
    'Location',
    'RateLimit-Limit',
    'RateLimit-Remaining',
    'RateLimit-Reset',
    'Request-Id',
  ]);
  t.equal(post['401'].headers['WWW-Authenticate'].required, true);
  t.equal(post['429'].headers['Retry-After'].required, true);
  t.equal(document.paths['/bookings/{bookingId}'].patch.responses['412'].description.includes('If-Match'), true);
});

t.test('real responses of every route conform to the document: successes and each error status provoked', async (t) => {
  // health
  await call(t, ctx, { method: 'GET', url: `${API}/health`, headers: bearer(full.token) }, 200);
  await call(t, ctx, { method: 'GET', url: `${API}/health` }, 401);
  await call(t, ctx, { method: 'GET', url: `${API}/health`, headers: bearer('cs_live_0000000000000000000000000000000000000a') }, 401);

  // create
  const created = await call(
    t,
    ctx,
    { method: 'POST', url: `${API}/bookings`, headers: json(full.token, { 'idempotency-key': 'openapi-1' }), payload: visit(2) },
    201,
  );
  const booking = created.json() as { id: string; version: number };
  await call(
    t,
    ctx,
    { method: 'POST', url: `${API}/bookings`, headers: json(full.token, { 'idempotency-key': 'openapi-1' }), payload: visit(2) },
    201,
  );
  await call(
    t,
    ctx,
    { method: 'POST', url: `${API}/bookings`, headers: json(full.token, { 'idempotency-key': 'openapi-1' }), payload: visit(3) },
    409,
  );
  await call(t, ctx, { method: 'POST', url: `${API}/bookings`, headers: json(full.token), payload: { ...visit(4), junk: 1 } }, 400);
  await call(t, ctx, { method: 'POST', url: `${API}/bookings`, headers: json(full.token), payload: '{"customer":' }, 400);
  await call(
    t,
    ctx,
    { method: 'POST', url: `${API}/bookings`, headers: json(full.token, { 'idempotency-key': '\u00e9t\u00e9' }), payload: visit(4) },
    400,
  );
  await call(
    t,
    ctx,
    {
      method: 'POST',
      url: `${API}/bookings`,
      headers: { ...bearer(full.token), 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'customer=Dana',
    },
    415,
  );
  await call(
    t,
    ctx,
    {
      method: 'POST',
      url: `${API}/bookings`,
      headers: json(full.token),
      payload: JSON.stringify({ ...visit(4), notes: 'x'.repeat(70_000) }),
    },
    413,
  );
  await call(t, ctx, { method: 'POST', url: `${API}/bookings`, headers: json(readOnly.token), payload: visit(4) }, 403);
  await call(t, ctx, { method: 'POST', url: `${API}/bookings`, headers: { 'content-type': 'application/json' }, payload: visit(4) }, 401);

  // get
  await ctx.catchUpAll();
  await call(
    t,
    ctx,
    {
      method: 'GET',
      url: `${API}/bookings/${booking.id}`,
      headers: json(full.token, { 'consistency-token': created.headers['consistency-token'] as string }),
    },
    200,
  );
  await call(t, ctx, { method: 'GET', url: `${API}/bookings/${booking.id}`, headers: bearer(other.token) }, 404);
  await call(t, ctx, { method: 'GET', url: `${API}/bookings/not-a-uuid`, headers: bearer(full.token) }, 400);
  await call(
    t,
    ctx,
    { method: 'GET', url: `${API}/bookings/${booking.id}`, headers: { ...bearer(full.token), 'consistency-token': 'nope' } },
    400,
  );
  await call(t, ctx, { method: 'GET', url: `${API}/bookings/${booking.id}`, headers: bearer(summaryOnly.token) }, 403);
  await call(t, ctx, { method: 'GET', url: `${API}/bookings/${booking.id}` }, 401);
  await call(
    t,
    ctx,
    {
      method: 'GET',
      url: `${API}/bookings/${booking.id}`,
      headers: { ...bearer(full.token), 'consistency-token': await pendingToken('booking') },
    },
    503,
  );

  // list
  const list = await call(t, ctx, { method: 'GET', url: `${API}/bookings?${range}&limit=1`, headers: bearer(full.token) }, 200);
  t.ok(list.json().data.length === 1);
  await call(t, ctx, { method: 'GET', url: `${API}/bookings?from=2031-06-01T00:00:00Z`, headers: bearer(full.token) }, 400);
  await call(
    t,
    ctx,
    {
      method: 'GET',
      url: `${API}/bookings?${range}&cursor=${Buffer.from('["x","y"]').toString('base64url')}`,
      headers: bearer(full.token),
    },
    400,
  );
  await call(t, ctx, { method: 'GET', url: `${API}/bookings?${range}`, headers: bearer(summaryOnly.token) }, 403);
  await call(t, ctx, { method: 'GET', url: `${API}/bookings?${range}` }, 401);

  // reschedule, cancel
  const window = { start: '2031-06-05T15:00:00Z', end: '2031-06-05T17:00:00Z' };
  await call(
    t,
    ctx,
    {
      method: 'PATCH',
      url: `${API}/bookings/${booking.id}`,
      headers: json(full.token, { 'if-match': `"${booking.version + 7}"` }),
      payload: { window },
    },
    412,
  );
  await call(
    t,
    ctx,
    { method: 'PATCH', url: `${API}/bookings/${booking.id}`, headers: json(full.token, { 'if-match': 'seven' }), payload: { window } },
    400,
  );
  await call(
    t,
    ctx,
    {
      method: 'PATCH',
      url: `${API}/bookings/${booking.id}`,
      headers: json(full.token, { 'idempotency-key': 'openapi-2' }),
      payload: { window },
    },
    200,
  );
  await call(
    t,
    ctx,
    {
      method: 'PATCH',
      url: `${API}/bookings/${booking.id}`,
      headers: json(full.token, { 'idempotency-key': 'openapi-2' }),
      payload: { window },
    },
    200,
  );
  await call(
    t,
    ctx,
    {
      method: 'PATCH',
      url: `${API}/bookings/${booking.id}`,
      headers: json(full.token),
      payload: { status: 'canceled', reason: 'no longer needed' },
    },
    200,
  );
  await call(
    t,
    ctx,
    { method: 'PATCH', url: `${API}/bookings/${booking.id}`, headers: json(full.token), payload: { status: 'canceled' } },
    409,
  );
  await call(
    t,
    ctx,
    { method: 'PATCH', url: `${API}/bookings/${booking.id}`, headers: json(full.token), payload: { status: 'canceled', window } },
    400,
  );
  await call(
    t,
    ctx,
    { method: 'PATCH', url: `${API}/bookings/${randomUUID()}`, headers: json(full.token), payload: { status: 'canceled' } },
    404,
  );
  await call(
    t,
    ctx,
    {
      method: 'PATCH',
      url: `${API}/bookings/${booking.id}`,
      headers: { ...bearer(full.token), 'content-type': 'application/xml' },
      payload: '<cancel/>',
    },
    415,
  );
  await call(
    t,
    ctx,
    {
      method: 'PATCH',
      url: `${API}/bookings/${booking.id}`,
      headers: json(full.token),
      payload: JSON.stringify({ status: 'canceled', reason: 'x'.repeat(70_000) }),
    },
    413,
  );
  await call(
    t,
    ctx,
    { method: 'PATCH', url: `${API}/bookings/${booking.id}`, headers: json(readOnly.token), payload: { status: 'canceled' } },
    403,
  );
  await call(
    t,
    ctx,
    {
      method: 'PATCH',
      url: `${API}/bookings/${booking.id}`,
      headers: { 'content-type': 'application/json' },
      payload: { status: 'canceled' },
    },
    401,
  );

  // availability (planned action)
  await call(
    t,
    ctx,
    {
      method: 'GET',
      url: `${API}/availability?from=2031-06-02T00:00:00Z&to=2031-06-09T00:00:00Z&duration=120`,
      headers: bearer(full.token),
    },
    200,
  );
  await call(
    t,
    ctx,
    { method: 'GET', url: `${API}/availability?from=2031-06-02T00:00:00Z&to=2031-08-09T00:00:00Z`, headers: bearer(full.token) },
    400,
  );
  await call(
    t,
    ctx,
    { method: 'GET', url: `${API}/availability?from=2031-06-02T00:00:00Z&to=2031-06-09T00:00:00Z`, headers: bearer(readOnly.token) },
    403,
  );
  await call(
    t,
    ctx,
    { method: 'GET', url: `${API}/availability?from=2031-06-02T00:00:00Z&to=2031-06-09T00:00:00Z`, headers: bearer(other.token) },
    404,
  );
  await call(t, ctx, { method: 'GET', url: `${API}/availability?from=2031-06-02T00:00:00Z&to=2031-06-09T00:00:00Z` }, 401);

  // lead summary (planned action)
  await call(t, ctx, { method: 'GET', url: `${API}/leads/${lead.id}/summary`, headers: bearer(full.token) }, 200);
  await call(t, ctx, { method: 'GET', url: `${API}/leads/${randomUUID()}/summary`, headers: bearer(full.token) }, 404);
  await call(t, ctx, { method: 'GET', url: `${API}/leads/${lead.id}/summary`, headers: bearer(other.token) }, 404);
  await call(t, ctx, { method: 'GET', url: `${API}/leads/12/summary`, headers: bearer(full.token) }, 400);
  await call(t, ctx, { method: 'GET', url: `${API}/leads/${lead.id}/summary`, headers: bearer(readOnly.token) }, 403);
  await call(t, ctx, { method: 'GET', url: `${API}/leads/${lead.id}/summary` }, 401);
  await call(
    t,
    ctx,
    {
      method: 'GET',
      url: `${API}/leads/${lead.id}/summary`,
      headers: { ...bearer(full.token), 'consistency-token': await pendingToken('lead') },
    },
    503,
  );
});

t.test('429 on every route conforms to the document (Retry-After, RateLimit-*)', async (t) => {
  const limited = await testApp(t, { server: { rateLimit: { max: 1, timeWindowMs: 60_000 } } });
  const limitedOrg = await limited.createOrg();
  await configureOrg(limited.services, operator(limitedOrg), {
    orgId: limitedOrg,
    changes: { enabledActions: ['availability', 'lead_summary'] },
  });
  const token = (await limited.token(limitedOrg, ['READ_BOOKINGS', 'WRITE_BOOKINGS', 'READ_AVAILABILITY', 'READ_LEAD_SUMMARY'])).token;
  await call(t, limited, { method: 'GET', url: `${API}/health`, headers: bearer(token) }, 200);
  for (const key of Object.keys(ROUTE_RESPONSES)) {
    const [method, path] = key.split(' ') as [string, string];
    const url = `${API}${path.replace(/\{[^}]+\}/g, randomUUID())}${method === 'GET' ? `?${range}` : ''}`;
    await call(t, limited, { method, url, headers: json(token), ...(method !== 'GET' && { payload: visit(6) }) }, 429);
  }
});

t.test(
  'every route answered its success and every error status it documents, except a database outage (503) where it has no Consistency-Token',
  async (t) => {
    // A 503 needs the database gone (test/reliability/faults.e2e.test.ts) unless the route waits for a Consistency-Token.
    const outageOnly: Record<string, number[]> = {
      'GET /health': [503],
      'POST /bookings': [503],
      'PATCH /bookings/{bookingId}': [503],
      'GET /bookings': [503],
      'GET /availability': [503],
    };
    for (const [key, table] of Object.entries(ROUTE_RESPONSES)) {
      const expected = ([table.success, ...table.errors] as number[]).filter((s) => !outageOnly[key]?.includes(s)).sort();
      t.same([...(seen.get(key) ?? [])].filter((s) => expected.includes(s)).sort(), expected, `${key}: provoked ${expected.join(', ')}`);
    }
  },
);
