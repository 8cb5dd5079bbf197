import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import fc from 'fast-check';
import t from 'tap';
import { configureOrg } from '../../src/commands/orgs.ts';
import { recordMissedCall } from '../../src/commands/leads.ts';
import { recordFigure } from '../support/figures.ts';
import { operator, testApp } from '../support/app.ts';
import { checkResponsesAgainstOpenApi } from '../support/openapi.ts';
import { postStripe, postTwilio, PROVIDER_ENV, sid } from '../webhooks/fixtures/providers.ts';

const API = '/api/private/v1';
const INTERNAL = '/api/internal/v1';
const BUSINESS = '+15125550100';
const ctx = await testApp(t, { server: { rateLimit: { max: 1_000_000, timeWindowMs: 60_000 } }, env: PROVIDER_ENV });
const orgA = await ctx.createOrg({ phones: [BUSINESS] });
const orgB = await ctx.createOrg();
await configureOrg(ctx.services, operator(orgA), { orgId: orgA, changes: { enabledActions: ['availability', 'lead_summary'] } });
const a = await ctx.token(orgA, ['READ_BOOKINGS', 'WRITE_BOOKINGS', 'READ_AVAILABILITY', 'READ_LEAD_SUMMARY']);
const b = await ctx.token(orgB);
const admin = await ctx.memberToken(orgA, 'admin');
const created = await ctx.app.inject({
  method: 'POST',
  url: `${API}/bookings`,
  headers: { authorization: `Bearer ${a.token}` },
  payload: { customer: { name: 'Real', phone: '+15125550100' }, window: { start: '2031-05-01T15:00:00Z', end: '2031-05-01T16:00:00Z' } },
});
const bookingId = created.json().id as string;
const provider = { orgId: orgA, actor: { type: 'provider' as const, id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
const { lead } = await recordMissedCall(ctx.services, provider, {
  callSid: sid('CA'),
  from: '+15125550199',
  to: BUSINESS,
  callStatus: 'no-answer',
  calledAt: new Date().toISOString(),
});
const leadId = lead.id;
await ctx.catchUpAll();
const conformance = await checkResponsesAgainstOpenApi(ctx.app);

/** Statuses the contract documents for a bad request (CONTRACT §3, plus 415 for a non-JSON body). */
const DOCUMENTED = new Set([400, 401, 403, 404, 409, 412, 413, 415, 429]);

async function eventCount(): Promise<number> {
  const { rows } = await ctx.database.pool.query<{ n: number }>('select count(*)::int as n from es_events');
  return rows[0]!.n;
}

// ---- arbitraries -------------------------------------------------------------------------------

/** Text PostgreSQL cannot store: NUL and unpaired surrogates (high, low, reversed pair). */
const UNSTORABLE = ['\u0000', '\ud800', '\udfff', '\udc00\ud800', 'a\u0000b', 'x\ud83d'];
/** Any Unicode text, binary code points included, sometimes with an unstorable piece spliced in. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc
    .tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom(...UNSTORABLE), fc.string({ maxLength: 5 }))
    .map(([x, bad, y]) => x + bad + y),
  fc.constantFrom(...UNSTORABLE),
);
/** Text that always carries an unstorable piece (the one thing wrong with an otherwise valid request). */
const badText = fc
  .tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...UNSTORABLE), fc.string({ maxLength: 10 }))
  .map(([x, bad, y]) => `ok ${x}${bad}${y}`);
/** Numbers at the edges, as JSON values. */
const edgeNumber = fc.constantFrom(0, -0, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -1e308, -1, 0.5, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER);
/** Numbers at the edges, as query-string text. */
const edgeNumberText = fc.constantFrom(
  '0',
  '-0',
  'NaN',
  'Infinity',
  '-Infinity',
  '9007199254740992',
  '18446744073709551616',
  '1e308',
  '1e309',
  '-1',
  '1.5',
  '0x10',
  ' 7',
  '1_0',
  '',
);
const instantText = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:30:00+01:00',
    '9999-12-31T23:00:00-05:00',
    '2031-05-01T15:00:00Z',
    '2031-02-30T00:00:00Z',
    '1',
    '2031',
  ),
);
const b64 = (text: string) => Buffer.from(text).toString('base64url');
const bigNumber = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 21n }).map(String),
  fc.constantFrom(
    '0',
    '9223372036854775807',
    '9223372036854775808',
    '18446744073709551615',
    '18446744073709551616',
    '99999999999999999999',
  ),
);
/** Cursors nobody issued: base64 JSON of the wrong shape or types, non-uuid ids, huge positions, garbage. */
const forgedCursor = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => b64(JSON.stringify(v))),
  fc
    .tuple(
      fc.oneof(instantText, anyText, edgeNumber, fc.constant(null)),
      fc.oneof(
        fc.uuid(),
        fc.constant('-'.repeat(36)),
        fc.constant('g'.repeat(36)),
        fc.stringMatching(/^[0-9a-f-]{36}$/),
        anyText,
        edgeNumber,
      ),
    )
    .map((pair) => b64(JSON.stringify(pair))),
  fc.tuple(bigNumber, bigNumber).map(([c, p]) => b64(`${c}.${p}`)),
  fc.tuple(bigNumber, bigNumber).map(([c, p]) => `${c}.${p}`),
  anyText,
  fc.string({ unit: 'binary', maxLength: 60 }).map(b64),
);
const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), edgeNumber, anyText);

// Bodies that are valid except, sometimes, for their text: these reach the store unless the text is caught.
const validWindow = fc.constant({ start: '2032-03-01T15:00:00Z', end: '2032-03-01T16:00:00Z' });
const validBooking = fc.record(
  {
    customer: fc.record({ name: fc.oneof(badText, anyText), phone: fc.constant('+15125550142') }),
    window: validWindow,
    notes: fc.oneof(badText, anyText),
    service: fc.record({ type: fc.oneof(badText, fc.constant('ac_repair')), summary: anyText }, { requiredKeys: ['type'] }),
    externalRef: fc.oneof(badText, anyText),
  },
  { requiredKeys: ['customer', 'window'] },
);
const almostBooking = fc.record(
  {
    customer: fc.oneof(jsonValue, fc.record({ name: anyText, phone: anyText }, { requiredKeys: [] })),
    window: fc.oneof(
      jsonValue,
      fc.record({ start: fc.oneof(anyText, instantText), end: fc.oneof(anyText, instantText) }, { requiredKeys: [] }),
    ),
    timezone: anyText,
    status: fc.constantFrom('canceled', 'scheduled', 'done', ''),
    reason: anyText,
    extra: jsonValue,
  },
  { requiredKeys: [] },
);
const keyedJunk = fc.dictionary(anyText, jsonValue, { maxKeys: 3 });
const body = fc.oneof(jsonValue, almostBooking, validBooking, keyedJunk, fc.record({ reason: badText, status: fc.constant('canceled') }));
const headerValue = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('"1"', '*', 'W/"2"', '', ' '));
const headers = fc.record(
  {
    'idempotency-key': headerValue,
    'if-match': headerValue,
    // Tokens behind the store or out of range (one past the newest event is a quick 400; a pending one waits 5 s).
    'consistency-token': fc.oneof(
      headerValue,
      fc.constantFrom('1.1', '0.0', '9223372036854775808.0', '1.18446744073709551616', '99999999999999999999.1'),
    ),
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-8',
    ),
  },
  { requiredKeys: [] },
);
const pathSegment = fc.oneof(
  fc.constant(bookingId),
  fc.constant(leadId),
  fc.uuid(),
  anyText.map(encodeURIComponentLoose),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
);
const queryValue = fc.oneof(anyText, instantText, edgeNumberText, forgedCursor);
const query = fc.dictionary(fc.constantFrom('from', 'to', 'status', 'limit', 'cursor', 'duration', 'junk'), queryValue);
const route = fc.constantFrom(
  'POST /bookings',
  'PATCH /bookings/:id',
  'GET /bookings',
  'GET /bookings/:id',
  'GET /health',
  'GET /availability',
  'GET /leads/:id/summary',
);
const auth = fc.constantFrom('a', 'a', 'a', 'none', 'garbage');

/** encodeURIComponent, but lone surrogates travel as their (invalid) UTF-8 bytes instead of throwing. */
function encodeURIComponentLoose(text: string): string {
  return [...text]
    .map((ch) => {
      const code = ch.codePointAt(0)!;
      if (code >= 0xd800 && code <= 0xdfff)
        return `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`;
      return encodeURIComponent(ch);
    })
    .join('');
}

/** A query string carrying any text (lone surrogates as raw bytes). */
function queryString(q: Record<string, string>): string {
  return Object.entries(q)
    .map(([k, v]) => `${k}=${encodeURIComponentLoose(v)}`)
    .join('&');
}

let probes = 0;

/** Sends one request and checks the promise of this file: a documented status, problem+json for errors, and no event from a refused request. */
async function probe(statuses: Map<number, number>, request: InjectOptions & { method: string; url: string }, allowed = DOCUMENTED) {
  const before = await eventCount();
  // Each probe comes from its own address: hundreds of bad tokens from one address are (rightly) throttled
  // before any lookup (bearer-failures.e2e tests that), which would hide what this file checks.
  const n = probes++;
  const res = await ctx.app.inject({ remoteAddress: `198.18.${(n >> 8) & 255}.${n & 255}`, ...request });
  const after = await eventCount();
  statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
  const what = `${request.method} ${request.url} ${typeof request.payload === 'string' ? request.payload.slice(0, 300) : ''}`;
  if (res.statusCode >= 500) throw new Error(`${what} → ${res.statusCode}: ${res.body}`);
  if (res.statusCode >= 400) {
    if (!allowed.has(res.statusCode)) throw new Error(`${what} → undocumented ${res.statusCode}`);
    if (!/^application\/problem\+json/.test(String(res.headers['content-type'])))
      throw new Error(`${what} → ${res.statusCode} without problem+json`);
    if (
      res.statusCode === 400 &&
      !(res.json().errors as { path: string }[] | undefined)?.every((e) => typeof e.path === 'string' && e.path.length > 0)
    ) {
      throw new Error(`${what} → 400 without a path for each error: ${res.body}`);
    }
    if (after !== before) throw new Error(`${what} → ${res.statusCode} but appended ${after - before} event(s)`);
  }
  return res;
}

function figures(tried: number, statuses: Map<number, number>) {
  return {
    inputsTried: tried,
    ...Object.fromEntries([...statuses.entries()].sort(([x], [y]) => x - y).map(([s, n]) => [`status${s}`, n])),
  };
}

// ---- properties ----------------------------------------------------------------------------------

t.test(
  'protected API: any text, edge numbers and forged cursors only ever get documented 4xx, and a refused request appends nothing',
  async (t) => {
    const statuses = new Map<number, number>();
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(route, body, headers, pathSegment, query, auth, async (r, payload, hdrs, segment, q, who) => {
        tried++;
        const [method, template] = r.split(' ') as [string, string];
        const url = `${API}${template.replace(':id', segment)}${method === 'GET' ? `?${queryString(q)}` : ''}`;
        const authorization = who === 'a' ? `Bearer ${a.token}` : who === 'garbage' ? 'Bearer cs_live_garbage' : undefined;
        await probe(statuses, {
          method: method,
          url,
          headers: { ...hdrs, ...(authorization && { authorization }) },
          ...(method !== 'GET' && { payload: JSON.stringify(payload) }),
        });
        return true;
      }),
      { numRuns: 800, seed: 20261124 },
    );
    t.ok(![...statuses.keys()].some((s) => s >= 500), 'never a 5xx');
    t.ok((statuses.get(400) ?? 0) > 100, 'most inputs are refused as 400');
    t.same(conformance.problems().slice(0, 20), [], 'every answer of a documented route is as the OpenAPI document says');
    recordFigure(t, 'bad-input', figures(tried, statuses));
  },
);

const internalRoute = fc.constantFrom(
  'GET /leads',
  'GET /leads/:id',
  'POST /leads/:id/status',
  'GET /audit/events',
  'GET /settings',
  'PUT /settings',
);
const internalQuery = fc.dictionary(
  fc.constantFrom('status', 'limit', 'cursor', 'stream', 'since', 'until', 'junk'),
  fc.oneof(queryValue, forgedCursor, fc.constant(`lead-${leadId}`)),
);
const internalBody = fc.oneof(
  body,
  fc.record(
    { status: fc.constantFrom('won', 'lost', 'active', 'booked', 'x'), reason: fc.oneof(badText, anyText) },
    { requiredKeys: ['status'] },
  ),
  fc.record(
    {
      textBackTemplate: fc.oneof(badText, anyText),
      crewCapacity: edgeNumber,
      reminderOffsetsMinutes: fc.array(edgeNumber, { maxLength: 3 }),
      blackoutDates: fc.array(fc.record({ date: fc.constant('2032-12-25'), reason: fc.oneof(badText, anyText) }), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
);

t.test(
  'internal API: any text, edge numbers and forged cursors (leads, audit) only ever get documented 4xx, and a refused request appends nothing',
  async (t) => {
    const statuses = new Map<number, number>();
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        internalRoute,
        internalBody,
        internalQuery,
        fc.oneof(fc.constant(leadId), pathSegment),
        async (r, payload, q, segment) => {
          tried++;
          const [method, template] = r.split(' ') as [string, string];
          const url = `${INTERNAL}${template.replace(':id', segment)}${method === 'GET' ? `?${queryString(q)}` : ''}`;
          await probe(statuses, {
            method: method,
            url,
            headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
            ...(method !== 'GET' && { payload: JSON.stringify(payload) }),
          });
          return true;
        },
      ),
      { numRuns: 500, seed: 20261129 },
    );
    t.ok(![...statuses.keys()].some((s) => s >= 500), 'never a 5xx');
    recordFigure(t, 'bad-input-internal', figures(tried, statuses));
  },
);

/** What Twilio's form encoding delivers of these parameters (lone surrogates arrive as U+FFFD), so the signature matches. */
function asDelivered(params: Record<string, string | undefined>): Record<string, string> {
  const present = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return Object.fromEntries(new URLSearchParams(new URLSearchParams(present).toString()));
}
const twilioText = fc.oneof(anyText, badText);
const twilioForm = fc.record(
  {
    CallSid: fc.oneof(
      fc.constant('CA').map(() => sid('CA')),
      twilioText,
    ),
    MessageSid: fc.oneof(
      fc.constant('SM').map(() => sid('SM')),
      twilioText,
    ),
    From: fc.oneof(fc.constant('+15125550177'), twilioText),
    To: fc.oneof(fc.constant(BUSINESS), twilioText),
    CallStatus: fc.oneof(fc.constantFrom('no-answer', 'busy', 'completed'), twilioText),
    MessageStatus: fc.oneof(fc.constantFrom('delivered', 'failed'), twilioText),
    ErrorCode: twilioText,
    Timestamp: fc.oneof(instantText, twilioText),
    Body: twilioText,
    [`X${Math.random().toString(36).slice(2, 6)}`]: twilioText,
  },
  { requiredKeys: ['CallSid', 'MessageSid', 'From', 'To'] },
);
const stripeEvent = fc.record({
  id: fc.oneof(
    fc.constant('evt_').map((p) => `${p}${randomUUID().slice(0, 8)}`),
    twilioText,
  ),
  type: fc.oneof(
    fc.constantFrom('customer.subscription.updated', 'customer.subscription.deleted', 'checkout.session.completed'),
    twilioText,
  ),
  created: fc.oneof(fc.constant(Math.floor(Date.now() / 1000)), edgeNumber),
  data: fc.record({
    object: fc.record(
      {
        customer: fc.oneof(fc.constant('cus_fuzz'), twilioText),
        status: fc.oneof(fc.constantFrom('active', 'past_due', 'canceled'), twilioText),
        client_reference_id: fc.oneof(fc.constant(orgA), twilioText),
        metadata: fc.oneof(fc.constant({ orgId: orgA }), fc.dictionary(twilioText, twilioText, { maxKeys: 2 })),
      },
      { requiredKeys: [] },
    ),
  }),
});
const WEBHOOK_DOCUMENTED = new Set([400, 403, 413, 415]);

t.test('webhooks: signed Twilio forms and Stripe events with any text never get a 5xx, and a refused one records nothing', async (t) => {
  const statuses = new Map<number, number>();
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('/webhooks/twilio/voice', '/webhooks/twilio/sms', '/webhooks/twilio/message-status', '/webhooks/stripe'),
      twilioForm,
      stripeEvent,
      async (path, form, event) => {
        tried++;
        const before = await eventCount();
        const res = path === '/webhooks/stripe' ? await postStripe(ctx.app, event) : await postTwilio(ctx.app, path, asDelivered(form));
        const after = await eventCount();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const what = `${path} ${JSON.stringify(path === '/webhooks/stripe' ? event : form).slice(0, 300)}`;
        if (res.statusCode >= 500) throw new Error(`${what} → ${res.statusCode}: ${res.body}`);
        if (res.statusCode >= 400) {
          if (!WEBHOOK_DOCUMENTED.has(res.statusCode)) throw new Error(`${what} → undocumented ${res.statusCode}`);
          if (!/^application\/problem\+json/.test(String(res.headers['content-type'])))
            throw new Error(`${what} → ${res.statusCode} without problem+json`);
          if (after !== before) throw new Error(`${what} → ${res.statusCode} but recorded ${after - before} event(s)`);
        }
        return true;
      },
    ),
    { numRuns: 400, seed: 20261130 },
  );
  t.ok(![...statuses.keys()].some((s) => s >= 500), 'never a 5xx');
  recordFigure(t, 'bad-input-webhooks', figures(tried, statuses));
});

// ---- the inputs that used to reach PostgreSQL, one by one ------------------------------------------

t.test('text PostgreSQL cannot store is a 400 naming its path, on every surface, and records nothing', async (t) => {
  const before = await eventCount();
  const booking = (name: string) =>
    `{"customer":{"name":${name},"phone":"+15125550142"},"window":{"start":"2032-03-02T15:00:00Z","end":"2032-03-02T16:00:00Z"}}`;
  const cases = [
    { method: 'POST', url: `${API}/bookings`, token: a.token, payload: booking('"Dana\\u0000Diaz"'), path: 'body.customer.name' },
    { method: 'POST', url: `${API}/bookings`, token: a.token, payload: booking('"Dana\\ud800"'), path: 'body.customer.name' },
    { method: 'POST', url: `${API}/bookings`, token: a.token, payload: booking('"\\udc00Dana"'), path: 'body.customer.name' },
    {
      method: 'PATCH',
      url: `${API}/bookings/${bookingId}`,
      token: a.token,
      payload: '{"status":"canceled","reason":"no\\u0000"}',
      path: 'body.reason',
    },
    {
      method: 'POST',
      url: `${INTERNAL}/leads/${leadId}/status`,
      token: admin.token,
      payload: '{"status":"won","reason":"fixed \\ud83d"}',
      path: 'body.reason',
    },
    {
      method: 'PUT',
      url: `${INTERNAL}/settings`,
      token: admin.token,
      payload: '{"textBackTemplate":"Sorry\\u0000"}',
      path: 'body.textBackTemplate',
    },
    {
      method: 'GET',
      url: `${API}/bookings?from=2031-04-01T00:00:00Z&to=2031-06-01T00:00:00Z&cursor=%00`,
      token: a.token,
      path: 'querystring.cursor',
    },
  ] as const;
  for (const c of cases) {
    const res = await ctx.app.inject({
      method: c.method,
      url: c.url,
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
      ...('payload' in c && { payload: c.payload }),
    });
    t.equal(res.statusCode, 400, `${c.method} ${c.url} ${'payload' in c ? c.payload : ''} → 400`);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(res.json(), {
      code: 'validation_failed',
      errors: [{ path: c.path, message: /NUL character or an unpaired UTF-16 surrogate/ }],
    });
  }
  const sms = asDelivered({ MessageSid: sid('SM'), From: '+15125550177', To: BUSINESS, Body: 'is anyone there?\u0000' });
  const twilio = await postTwilio(ctx.app, '/webhooks/twilio/sms', sms);
  t.equal(twilio.statusCode, 400, 'a signed Twilio text with a NUL is a 400');
  t.match(twilio.json(), { errors: [{ path: 'body.Body' }] });
  const stripe = await postStripe(ctx.app, {
    id: 'evt_\u0000',
    type: 'customer.subscription.updated',
    created: 1,
    data: { object: { customer: 'cus_1', status: 'active', metadata: { orgId: orgA } } },
  });
  t.equal(stripe.statusCode, 400, 'a signed Stripe event with a NUL is a 400');
  t.match(stripe.json(), { errors: [{ path: 'body.id' }] });
  t.equal(await eventCount(), before, 'nothing appended');
});

t.test('forged cursors and out-of-range instants are a 400 on every list', async (t) => {
  const json = (v: unknown) => b64(JSON.stringify(v));
  const range = 'from=2031-04-01T00:00:00Z&to=2031-06-01T00:00:00Z';
  const cases = [
    {
      url: `${API}/bookings?${range}&cursor=${json(['2031-05-01T15:00:00.000Z', '-'.repeat(36)])}`,
      token: a.token,
      path: 'querystring.cursor',
    },
    { url: `${API}/bookings?${range}&cursor=${json(['1', randomUUID()])}`, token: a.token, path: 'querystring.cursor' },
    {
      url: `${API}/bookings?${range}&cursor=${json(['-271821-04-20T00:00:00.000Z', randomUUID()])}`,
      token: a.token,
      path: 'querystring.cursor',
    },
    { url: `${API}/bookings?${range}&cursor=${json({ a: 1 })}`, token: a.token, path: 'querystring.cursor' },
    { url: `${API}/bookings?from=0000-06-01T00:00:00Z&to=0000-06-05T00:00:00Z`, token: a.token, path: 'querystring.from' },
    {
      url: `${INTERNAL}/leads?cursor=${json(['2031-05-01T15:00:00.000Z', 'ffffffff-ffff-ffff-ffff-fffffffffffg'])}`,
      token: admin.token,
      path: 'querystring.cursor',
    },
    {
      url: `${INTERNAL}/leads?cursor=${json(['2031-05-01T15:00:00.000Z', '------------------------------------'])}`,
      token: admin.token,
      path: 'querystring.cursor',
    },
    { url: `${INTERNAL}/audit/events?cursor=${b64('18446744073709551616.1')}`, token: admin.token, path: 'querystring.cursor' },
    { url: `${INTERNAL}/audit/events?cursor=${b64('1.9223372036854775808')}`, token: admin.token, path: 'querystring.cursor' },
    {
      url: `${INTERNAL}/audit/events?cursor=${b64('99999999999999999999.99999999999999999999')}`,
      token: admin.token,
      path: 'querystring.cursor',
    },
  ];
  for (const c of cases) {
    const res = await ctx.app.inject({ method: 'GET', url: c.url, headers: { authorization: `Bearer ${c.token}` } });
    t.equal(res.statusCode, 400, `${c.url} → 400`);
    t.match(res.json(), { code: 'validation_failed', errors: [{ path: c.path }] });
  }
});

t.test("another org's token against every route gets 404 or 403, never the resource", async (t) => {
  const before = await eventCount();
  const cases = [
    { method: 'GET' as const, url: `${API}/bookings/${bookingId}` },
    { method: 'PATCH' as const, url: `${API}/bookings/${bookingId}`, payload: { status: 'canceled' } },
    {
      method: 'PATCH' as const,
      url: `${API}/bookings/${bookingId}`,
      payload: { window: { start: '2031-05-02T15:00:00Z', end: '2031-05-02T16:00:00Z' } },
    },
  ];
  for (const c of cases) {
    const res = await ctx.app.inject({ ...c, headers: { authorization: `Bearer ${b.token}` } });
    t.ok([403, 404].includes(res.statusCode), `${c.method} ${c.url} → ${res.statusCode}`);
    t.notMatch(res.body, bookingId, 'the response never carries the resource');
  }
  const list = await ctx.app.inject({
    method: 'GET',
    url: `${API}/bookings?from=2031-04-01T00:00:00Z&to=2031-06-01T00:00:00Z`,
    headers: { authorization: `Bearer ${b.token}` },
  });
  t.same(list.json().data, [], "B's list is empty");
  t.equal(await eventCount(), before, 'nothing appended');
  const fresh = randomUUID();
  const absent = await ctx.app.inject({ method: 'GET', url: `${API}/bookings/${fresh}`, headers: { authorization: `Bearer ${b.token}` } });
  const theirs = await ctx.app.inject({
    method: 'GET',
    url: `${API}/bookings/${bookingId}`,
    headers: { authorization: `Bearer ${b.token}` },
  });
  t.equal(absent.json().detail, theirs.json().detail, 'absent and foreign look the same');
  recordFigure(t, 'tenancy', { routesTried: cases.length + 1, leaks: 0 });
});
