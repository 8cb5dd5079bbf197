import { randomUUID } from 'node:crypto';
import t from 'tap';
import { testApp, testClock } from '../support/app.ts';
import { eventCount, postTwilio, PROVIDER_ENV, settle, sid, voiceStatusCallback } from '../webhooks/fixtures/providers.ts';

const clock = testClock('2026-12-01T15:00:00.000Z');
const ctx = await testApp(t, { env: PROVIDER_ENV, clock, liveProjectors: true });
const { app, database } = ctx;
const API = '/api/internal/v1';
const BUSINESS_A = '+15125550100';
const BUSINESS_B = '+15125550111';
const orgA = await ctx.createOrg({ name: 'Acme HVAC', phones: [BUSINESS_A] });
const orgB = await ctx.createOrg({ name: 'Borealis Heating', phones: [BUSINESS_B] });
const owner = await ctx.memberToken(orgA, 'owner');
const admin = await ctx.memberToken(orgA, 'admin');
const member = await ctx.memberToken(orgA, 'member');
const auditor = await ctx.memberToken(orgA, 'auditor');
const memberB = await ctx.memberToken(orgB, 'member');
const adminB = await ctx.memberToken(orgB, 'admin');
await settle(ctx);

let nextCaller = 5550300;
const newCaller = () => `+1512${nextCaller++}`;

const bearer = (token: string, consistency?: string) => ({
  authorization: `Bearer ${token}`,
  ...(consistency && { 'consistency-token': consistency }),
});

type Json = Record<string, any>;

/**
 * A GET that sends a Consistency-Token back. The read model waits up to 5 s for the write; when
 * another test file's long transaction hides our commits for longer (visibility is cluster-wide),
 * the API answers 503 + Retry-After, and a client retries, as this does.
 */
async function read(url: string, token: string, consistency?: string) {
  for (let attempt = 0; ; attempt++) {
    const res = await app.inject({ method: 'GET', url, headers: bearer(token, consistency) });
    if (res.statusCode !== 503 || attempt === 20) return res;
  }
}

/** A lead of org A (or B) opened by a missed call; returns its id once the read models have it. */
async function missedCallLead(business = BUSINESS_A, caller = newCaller()): Promise<string> {
  const res = await postTwilio(
    app,
    '/webhooks/twilio/voice',
    voiceStatusCallback({ callSid: sid('CA'), from: caller, to: business, status: 'no-answer' }),
  );
  const token = res.headers['consistency-token'] as string;
  const list = await read(`${API}/leads?limit=200`, business === BUSINESS_A ? member.token : memberB.token, token);
  const lead = (list.json() as { data: Json[] }).data.find((l) => l.callerPhone === caller);
  if (!lead) throw new Error('lead not listed');
  return lead.id as string;
}

function move(token: string, leadId: string, payload: unknown) {
  return app.inject({ method: 'POST', url: `${API}/leads/${leadId}/status`, headers: bearer(token), payload: payload as object });
}

t.test('without a member token the internal API is 401; an integration token is not a member token', async (t) => {
  const none = await app.inject({ method: 'GET', url: `${API}/leads` });
  t.equal(none.statusCode, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="callsnare"');
  const integration = await ctx.token(orgA);
  await settle(ctx);
  const wrongKind = await app.inject({ method: 'GET', url: `${API}/leads`, headers: bearer(integration.token) });
  t.equal(wrongKind.statusCode, 401);
});

t.test('a member can move a lead through its lifecycle; the answer carries a consistency token', async (t) => {
  const leadId = await missedCallLead();
  clock.advance(60_000);
  const res = await move(member.token, leadId, { status: 'booked', reason: 'visit Tuesday' });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { id: leadId, status: 'booked', bookedAt: '2026-12-01T15:01:00.000Z' });
  const token = res.headers['consistency-token'] as string;
  t.ok(token);
  const detail = await read(`${API}/leads/${leadId}`, member.token, token);
  const body = detail.json() as Json;
  t.equal(body.status, 'booked');
  t.match(body.timeline.at(-1), {
    kind: 'status_change',
    summary: 'status active → booked (visit Tuesday)',
    actor: { type: 'team_member', id: member.memberId },
  });
});

t.test('moving to the current status changes nothing', async (t) => {
  const leadId = await missedCallLead();
  const before = await eventCount(database);
  const res = await move(member.token, leadId, { status: 'active' });
  t.equal(res.statusCode, 200);
  t.equal(await eventCount(database), before);
});

t.test('lifecycle timestamps are written once: Won → Active → Won keeps the first wonAt', async (t) => {
  const leadId = await missedCallLead();
  clock.set('2026-12-02T10:00:00.000Z');
  const firstWin = await move(admin.token, leadId, { status: 'won' });
  t.equal(firstWin.json().wonAt, '2026-12-02T10:00:00.000Z');
  clock.set('2026-12-03T10:00:00.000Z');
  const reopened = await move(owner.token, leadId, { status: 'active', reason: 'callback about a second unit' });
  t.match(reopened.json(), { status: 'active', wonAt: '2026-12-02T10:00:00.000Z' });
  clock.set('2026-12-04T10:00:00.000Z');
  const again = await move(member.token, leadId, { status: 'won' });
  const token = again.headers['consistency-token'] as string;
  const body = (await read(`${API}/leads/${leadId}`, member.token, token)).json() as Json;
  t.equal(body.status, 'won');
  t.equal(body.wonAt, '2026-12-02T10:00:00.000Z', 'the first wonAt is kept');
  t.equal(body.activeAt, body.createdAt, 'activeAt stays at the opening');
  t.same(
    body.timeline.filter((e: Json) => e.kind === 'status_change').map((e: Json) => [e.details.from, e.details.to, e.occurredAt]),
    [
      ['active', 'won', '2026-12-02T10:00:00.000Z'],
      ['won', 'active', '2026-12-03T10:00:00.000Z'],
      ['active', 'won', '2026-12-04T10:00:00.000Z'],
    ],
  );
});

t.test('a move the lifecycle does not allow is 409 and records nothing', async (t) => {
  const leadId = await missedCallLead();
  await move(member.token, leadId, { status: 'lost' });
  const before = await eventCount(database);
  const res = await move(member.token, leadId, { status: 'booked' });
  t.equal(res.statusCode, 409);
  t.match(res.json(), { code: 'lead_state_conflict', status: 409 });
  t.equal(await eventCount(database), before);
});

t.test('an auditor cannot move a lead nor read leads, and nothing is recorded', async (t) => {
  const leadId = await missedCallLead();
  const before = await eventCount(database);
  const res = await move(auditor.token, leadId, { status: 'won' });
  t.equal(res.statusCode, 403);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.equal((res.json() as Json).code, 'insufficient_role');
  t.equal((await app.inject({ method: 'GET', url: `${API}/leads`, headers: bearer(auditor.token) })).statusCode, 403);
  t.equal((await app.inject({ method: 'GET', url: `${API}/leads/${leadId}`, headers: bearer(auditor.token) })).statusCode, 403);
  t.equal(await eventCount(database), before);
});

t.test("another org's lead is a 404 identical to an absent one, for reads and moves", async (t) => {
  const leadId = await missedCallLead();
  const before = await eventCount(database);
  const strip = (body: Json) => ({ ...body, requestId: undefined, detail: body.detail });
  const foreign = await app.inject({ method: 'GET', url: `${API}/leads/${leadId}`, headers: bearer(memberB.token) });
  const absent = await app.inject({ method: 'GET', url: `${API}/leads/${randomUUID()}`, headers: bearer(memberB.token) });
  t.equal(foreign.statusCode, 404);
  t.same(strip(foreign.json()), strip(absent.json()));
  const foreignMove = await move(memberB.token, leadId, { status: 'won' });
  const absentMove = await move(memberB.token, randomUUID(), { status: 'won' });
  t.equal(foreignMove.statusCode, 404);
  t.same(strip(foreignMove.json()), strip(absentMove.json()));
  t.equal(await eventCount(database), before, 'nothing recorded');
  const listB = (await app.inject({ method: 'GET', url: `${API}/leads?limit=200`, headers: bearer(memberB.token) })).json() as {
    data: Json[];
  };
  t.notOk(
    listB.data.some((l) => l.id === leadId),
    "org B's list never shows org A's leads",
  );
});

t.test('bad input is a 400 problem naming each field, and nothing is recorded', async (t) => {
  const leadId = await missedCallLead();
  const before = await eventCount(database);
  const cases: [string, unknown, string][] = [
    [`${API}/leads/${leadId}/status`, { status: 'done' }, 'body.status'],
    [`${API}/leads/${leadId}/status`, { status: 'won', note: 'x' }, 'body'],
    [`${API}/leads/${leadId}/status`, {}, 'body.status'],
    [`${API}/leads/not-a-uuid/status`, { status: 'won' }, 'params.leadId'],
  ];
  for (const [url, payload, path] of cases) {
    const res = await app.inject({ method: 'POST', url, headers: bearer(member.token), payload: payload as object });
    t.equal(res.statusCode, 400, url);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    const body = res.json() as { code: string; errors: { path: string; message: string }[] };
    t.equal(body.code, 'validation_failed');
    t.ok(
      body.errors.some((e) => e.path.startsWith(path) && typeof e.message === 'string'),
      `errors name ${path}: ${JSON.stringify(body.errors)}`,
    );
  }
  const badQuery = await app.inject({ method: 'GET', url: `${API}/leads?status=open`, headers: bearer(member.token) });
  t.equal(badQuery.statusCode, 400);
  t.match(badQuery.json(), { errors: [{ path: 'querystring.status' }] });
  const badCursor = await app.inject({ method: 'GET', url: `${API}/leads?cursor=nope`, headers: bearer(member.token) });
  t.equal(badCursor.statusCode, 400);
  t.equal(await eventCount(database), before);
});

t.test('leads list newest activity first, filter by status and paginate with a cursor', async (t) => {
  const org = await ctx.createOrg({ phones: ['+15125550122'] });
  const m = await ctx.memberToken(org, 'member');
  await settle(ctx);
  const ids: string[] = [];
  let token = '';
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    const res = await postTwilio(
      app,
      '/webhooks/twilio/voice',
      voiceStatusCallback({ callSid: sid('CA'), from: newCaller(), to: '+15125550122', status: 'no-answer' }),
    );
    token = res.headers['consistency-token'] as string;
  }
  const page1 = (await read(`${API}/leads?limit=2`, m.token, token)).json() as { data: Json[]; nextCursor: string };
  t.equal(page1.data.length, 2);
  t.ok(page1.nextCursor);
  const page2 = (
    await app.inject({ method: 'GET', url: `${API}/leads?limit=2&cursor=${page1.nextCursor}`, headers: bearer(m.token) })
  ).json() as { data: Json[]; nextCursor: string | null };
  t.equal(page2.data.length, 1);
  t.equal(page2.nextCursor, null);
  const all = [...page1.data, ...page2.data];
  ids.push(...all.map((l) => l.id));
  t.equal(new Set(ids).size, 3);
  const times = all.map((l) => l.lastActivityAt);
  t.same(times, [...times].sort().reverse(), 'newest activity first');
  const won = await move(m.token, ids[1]!, { status: 'won' });
  const filtered = (await read(`${API}/leads?status=won`, m.token, won.headers['consistency-token'] as string)).json() as { data: Json[] };
  t.same(
    filtered.data.map((l) => l.id),
    [ids[1]],
  );
  t.match(filtered.data[0], { counts: { missedCalls: 1, inboundTexts: 0, outboundTexts: 0, bookings: 0 } });
});

t.test('owner, admin and auditor read the audit timeline of their org only; a member cannot', async (t) => {
  const leadId = await missedCallLead();
  for (const who of [owner, admin, auditor]) {
    const res = await app.inject({ method: 'GET', url: `${API}/audit/events?limit=500`, headers: bearer(who.token) });
    t.equal(res.statusCode, 200);
    const body = res.json() as { data: Json[] };
    t.ok(body.data.length > 0);
    t.ok(
      body.data.every((e) => e.streamId !== `org-${orgB}`),
      "never org B's events",
    );
  }
  t.equal((await app.inject({ method: 'GET', url: `${API}/audit/events`, headers: bearer(member.token) })).statusCode, 403);
  const stream = await app.inject({ method: 'GET', url: `${API}/audit/events?stream=lead-${leadId}`, headers: bearer(auditor.token) });
  const events = (stream.json() as { data: Json[] }).data;
  t.same(
    events.map((e) => e.type),
    ['LeadOpened', 'MissedCallRecorded'],
  );
  t.match(events[1], {
    streamId: `lead-${leadId}`,
    revision: 1,
    actor: { type: 'provider', id: 'twilio', label: 'Twilio' },
    summary: /missed call from/,
  });
  const foreign = await app.inject({ method: 'GET', url: `${API}/audit/events?stream=lead-${leadId}`, headers: bearer(adminB.token) });
  t.same((foreign.json() as { data: Json[] }).data, [], "another org's stream reads as empty");
});

t.test('the audit timeline pages with a cursor, filters by time and never shows token hashes', async (t) => {
  await settle(ctx);
  const all: Json[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `${API}/audit/events?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
    const page = (await app.inject({ method: 'GET', url, headers: bearer(auditor.token) })).json() as {
      data: Json[];
      nextCursor: string | null;
    };
    all.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  const whole = (await app.inject({ method: 'GET', url: `${API}/audit/events?limit=500`, headers: bearer(auditor.token) })).json() as {
    data: Json[];
  };
  t.same(
    all.map((e) => e.id),
    whole.data.map((e) => e.id),
    'pages concatenate to the whole timeline in commit order',
  );
  const issued = whole.data.find((e) => e.type === 'CredentialIssued');
  t.equal(issued?.data.tokenHash, '[redacted]');
  const since = '2026-12-02T00:00:00.000Z';
  const until = '2026-12-03T00:00:00.000Z';
  const window = (
    await app.inject({ method: 'GET', url: `${API}/audit/events?limit=500&since=${since}&until=${until}`, headers: bearer(auditor.token) })
  ).json() as { data: Json[] };
  t.ok(window.data.length > 0);
  t.ok(window.data.every((e) => e.occurredAt >= since && e.occurredAt < until));
  const bad = await app.inject({ method: 'GET', url: `${API}/audit/events?since=${until}&until=${since}`, headers: bearer(auditor.token) });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { errors: [{ path: 'querystring.until' }] });
});

t.test('admins read and change settings; a change is recorded once; members and auditors cannot', async (t) => {
  const get = await app.inject({ method: 'GET', url: `${API}/settings`, headers: bearer(owner.token) });
  t.equal(get.statusCode, 200);
  t.match(get.json(), {
    orgId: orgA,
    timezone: 'America/Chicago',
    billingStatus: 'active',
    settings: { textBack: true, reminderOffsetsMinutes: [1440, 120] },
  });
  const before = await eventCount(database, 'OrgSettingsChanged');
  const put = await app.inject({
    method: 'PUT',
    url: `${API}/settings`,
    headers: bearer(admin.token),
    payload: { textBack: false, quietHours: { start: '21:00', end: '08:00' } },
  });
  t.equal(put.statusCode, 200);
  t.match(put.json(), { settings: { textBack: false, quietHours: { start: '21:00', end: '08:00' } } });
  const same = await app.inject({ method: 'PUT', url: `${API}/settings`, headers: bearer(admin.token), payload: { textBack: false } });
  t.equal(same.statusCode, 200);
  t.equal(await eventCount(database, 'OrgSettingsChanged'), before + 1, 'an unchanged value records nothing');
  const after = await read(`${API}/settings`, admin.token, put.headers['consistency-token'] as string);
  t.equal(after.json().settings.textBack, false);
  for (const who of [member, auditor]) {
    t.equal((await app.inject({ method: 'GET', url: `${API}/settings`, headers: bearer(who.token) })).statusCode, 403);
    t.equal(
      (await app.inject({ method: 'PUT', url: `${API}/settings`, headers: bearer(who.token), payload: { textBack: true } })).statusCode,
      403,
    );
  }
  for (const payload of [{}, { textBack: 'yes' }, { surprise: true }, { reminderOffsetsMinutes: [0] }]) {
    const res = await app.inject({ method: 'PUT', url: `${API}/settings`, headers: bearer(admin.token), payload });
    t.equal(res.statusCode, 400, JSON.stringify(payload));
    t.ok(Array.isArray(res.json().errors));
  }
  t.equal(await eventCount(database, 'OrgSettingsChanged'), before + 1);
  const otherOrg = (await app.inject({ method: 'GET', url: `${API}/settings`, headers: bearer(adminB.token) })).json() as Json;
  t.equal(otherOrg.orgId, orgB);
  t.equal(otherOrg.settings.textBack, true, "org A's change is not org B's");
});

t.test('the action catalog lists the live internal actions with their roles', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/api/actions' });
  t.equal(res.statusCode, 200);
  const internal = (res.json() as { data: Json[] }).data.filter((a) => a.status === 'live_internal');
  t.same(
    internal.map((a) => [a.name, a.permissions, a.idempotency, a.routes.sort()]),
    [
      [
        'read_leads',
        ['owner', 'admin', 'member'],
        'safe',
        ['GET /api/internal/v1/assignees', 'GET /api/internal/v1/leads', 'GET /api/internal/v1/leads/:leadId'],
      ],
      ['mark_lead_read', ['owner', 'admin', 'member'], 'idempotent', ['POST /api/internal/v1/leads/:leadId/read']],
      ['reply_by_text', ['owner', 'admin', 'member'], 'idempotency_key', ['POST /api/internal/v1/leads/:leadId/messages']],
      ['record_opt_out', ['owner', 'admin', 'member'], 'idempotent', ['POST /api/internal/v1/leads/:leadId/consent']],
      ['assign_lead', ['owner', 'admin', 'member'], 'idempotent', ['POST /api/internal/v1/leads/:leadId/assignee']],
      ['log_call_back', ['owner', 'admin', 'member'], 'none', ['POST /api/internal/v1/leads/:leadId/call-logs']],
      ['move_lead_status', ['owner', 'admin', 'member'], 'idempotent', ['POST /api/internal/v1/leads/:leadId/status']],
      [
        'read_team_bookings',
        ['owner', 'admin', 'member'],
        'safe',
        ['GET /api/internal/v1/availability', 'GET /api/internal/v1/bookings', 'GET /api/internal/v1/bookings/:bookingId'],
      ],
      [
        'write_team_bookings',
        ['owner', 'admin', 'member'],
        'idempotency_key',
        ['PATCH /api/internal/v1/bookings/:bookingId', 'POST /api/internal/v1/bookings'],
      ],
      [
        'read_audit_events',
        ['owner', 'admin', 'auditor'],
        'safe',
        ['GET /api/internal/v1/audit/events', 'GET /api/internal/v1/audit/state'],
      ],
      // Outbound webhook endpoints (CONTRACT §9) are org settings: same roles, no catalog entry of their own.
      [
        'org_settings',
        ['owner', 'admin'],
        'idempotent',
        [
          'DELETE /api/internal/v1/webhook-endpoints/:endpointId',
          'GET /api/internal/v1/settings',
          'GET /api/internal/v1/webhook-endpoints',
          'GET /api/internal/v1/webhook-endpoints/:endpointId/deliveries',
          'POST /api/internal/v1/webhook-endpoints',
          'POST /api/internal/v1/webhook-endpoints/:endpointId/replay',
          'POST /api/internal/v1/webhook-endpoints/:endpointId/rotate-secret',
          'PUT /api/internal/v1/settings',
        ],
      ],
      [
        'manage_members',
        ['owner', 'admin'],
        'idempotent',
        [
          'DELETE /api/internal/v1/members/:memberId',
          'DELETE /api/internal/v1/members/:memberId/sessions',
          'GET /api/internal/v1/members',
          'PUT /api/internal/v1/members/:memberId/role',
        ],
      ],
      ['invite_member', ['owner', 'admin'], 'none', ['POST /api/internal/v1/members/invitations']],
      [
        'manage_integration_tokens',
        ['owner', 'admin'],
        'idempotent',
        ['DELETE /api/internal/v1/tokens/:tokenId', 'GET /api/internal/v1/tokens'],
      ],
      ['issue_integration_token', ['owner', 'admin'], 'none', ['POST /api/internal/v1/tokens']],
    ],
  );
});
