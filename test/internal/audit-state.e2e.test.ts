import { execFileOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { changeLeadStatus, recordMissedCall } from '../../src/commands/leads.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';
import { testApp, testClock } from '../support/app.ts';
import { settle, sid } from '../webhooks/fixtures/providers.ts';

/** The audit timeline's filters (type, actor) and one stream's state as of an instant or position: HTTP and CLI. */
const clock = testClock('2026-12-01T15:00:00.000Z');
const ctx = await testApp(t, { clock });
const { app, services, database } = ctx;
const API = '/api/internal/v1';
const orgA = await ctx.createOrg({ phones: ['+15125550100'] });
const orgB = await ctx.createOrg({ phones: ['+15125550111'] });
const auditor = await ctx.memberToken(orgA, 'auditor');
const member = await ctx.memberToken(orgA, 'member');
const auditorB = await ctx.memberToken(orgB, 'auditor');
type Json = Record<string, any>;

const twilio = { orgId: orgA, actor: { type: 'provider' as const, id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
const dana = {
  orgId: orgA,
  actor: { type: 'team_member' as const, id: member.memberId, label: 'dana@example.com' },
  correlationId: randomUUID(),
};
const { lead } = await recordMissedCall(services, twilio, {
  callSid: sid('CA'),
  from: '+15125557001',
  to: '+15125550100',
  callStatus: 'no-answer',
  calledAt: clock().toISOString(),
});
const leadStream = `lead-${lead.id}`;
clock.set('2026-12-01T16:00:00.000Z');
const booked = await changeLeadStatus(services, dana, lead.id, { to: 'booked', reason: 'visit Tuesday' });
clock.set('2026-12-02T09:00:00.000Z');
await changeLeadStatus(services, dana, lead.id, { to: 'won', reason: 'replaced the blower' });
await settle(ctx);

const get = (url: string, token = auditor.token) =>
  app.inject({ method: 'GET', url: `${API}${url}`, headers: { authorization: `Bearer ${token}` } });

t.test('the audit timeline filters by event type and by actor id, beside stream and time', async (t) => {
  const byType = (await get('/audit/events?type=LeadStatusChanged&limit=500')).json() as { data: Json[] };
  t.same(
    byType.data.map((e) => [e.type, e.data.to]),
    [
      ['LeadStatusChanged', 'booked'],
      ['LeadStatusChanged', 'won'],
    ],
  );
  const byActor = (await get(`/audit/events?actor=${member.memberId}&limit=500`)).json() as { data: Json[] };
  t.same(
    byActor.data.map((e) => e.summary),
    ['status active → booked (visit Tuesday)', 'status booked → won (replaced the blower)'],
  );
  t.ok(byActor.data.every((e) => e.actor.id === member.memberId));
  const twilioOnly = (await get(`/audit/events?actor=twilio&stream=${leadStream}`)).json() as { data: Json[] };
  t.same(
    twilioOnly.data.map((e) => e.type),
    ['LeadOpened', 'MissedCallRecorded'],
  );
  const both = (await get(`/audit/events?actor=${member.memberId}&type=LeadStatusChanged&since=2026-12-02T00:00:00Z`)).json() as {
    data: Json[];
  };
  t.same(
    both.data.map((e) => e.data.to),
    ['won'],
  );
  t.same((await get(`/audit/events?type=LeadStatusChanged`, auditorB.token)).json().data, [], "never another org's events");
  const bad = await get('/audit/events?type=NoSuchEvent');
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { errors: [{ path: 'querystring.type' }] });
});

t.test('GET /audit/state folds a lead stream as of an instant or a position', async (t) => {
  const early = await get(`/audit/state?stream=${leadStream}&asOf=2026-12-01T15:30:00Z`);
  t.equal(early.statusCode, 200, early.body);
  t.match(early.json(), {
    stream: leadStream,
    asOf: '2026-12-01T15:30:00Z',
    revision: 1,
    events: 2,
    total: 4,
    state: { id: lead.id, status: 'active', counts: { missedCalls: 1 } },
  });
  const atBooking = (
    await get(`/audit/state?stream=${leadStream}&asOf=${booked.position!.commit}.${booked.position!.prepare}`)
  ).json() as Json;
  t.match(atBooking, { revision: 2, events: 3, state: { status: 'booked', bookedAt: '2026-12-01T16:00:00.000Z' } });
  t.notOk(atBooking.state.wonAt, 'not yet won at that position');
  const now = (await get(`/audit/state?stream=${leadStream}&asOf=2030-01-01T00:00:00Z`)).json() as Json;
  t.match(now, { revision: 3, state: { status: 'won', wonAt: '2026-12-02T09:00:00.000Z' } });
  const before = (await get(`/audit/state?stream=${leadStream}&asOf=2000-01-01T00:00:00Z`)).json() as Json;
  t.match(before, { revision: -1, events: 0, state: null, position: null });
});

t.test('GET /audit/state folds every stream kind: org, credential, booking', async (t) => {
  const org = (await get(`/audit/state?stream=org-${orgA}&asOf=2030-01-01T00:00:00Z`)).json() as Json;
  t.match(org, { state: { id: orgA, name: 'Acme HVAC', timezone: 'America/Chicago' } });
  const credential = (await get(`/audit/state?stream=credential-${member.id}&asOf=2030-01-01T00:00:00Z`)).json() as Json;
  t.match(credential, { state: { id: member.id, data: { kind: 'member', role: 'member' } } });
  const created = await app.inject({
    method: 'POST',
    url: `${API}/bookings`,
    headers: { authorization: `Bearer ${member.token}` },
    payload: {
      customer: { name: 'Dana Diaz', phone: '+15125557001' },
      window: { start: '2030-01-02T15:00:00.000Z', end: '2030-01-02T17:00:00.000Z' },
    },
  });
  const booking = (await get(`/audit/state?stream=booking-${created.json().id}&asOf=2030-01-01T00:00:00Z`)).json() as Json;
  t.match(booking, { revision: 0, state: { id: created.json().id, status: 'scheduled', customer: { name: 'Dana Diaz' } } });
});

t.test("GET /audit/state: another org's stream is 404 like an absent one; a member is 403; bad input is 400", async (t) => {
  const foreign = await get(`/audit/state?stream=${leadStream}&asOf=2030-01-01T00:00:00Z`, auditorB.token);
  const absent = await get(`/audit/state?stream=lead-${randomUUID()}&asOf=2030-01-01T00:00:00Z`, auditorB.token);
  t.equal(foreign.statusCode, 404);
  t.same({ ...foreign.json(), requestId: 0 }, { ...absent.json(), requestId: 0 });
  t.equal((await get(`/audit/state?stream=${leadStream}&asOf=2030-01-01T00:00:00Z`, member.token)).statusCode, 403);
  for (const [query, path] of [
    [`stream=${leadStream}&asOf=yesterday`, 'querystring.asOf'],
    [`stream=session-${randomUUID()}&asOf=2030-01-01T00:00:00Z`, 'querystring.stream'],
    [`stream=${leadStream}`, 'querystring.asOf'],
  ] as const) {
    const res = await get(`/audit/state?${query}`);
    t.equal(res.statusCode, 400, query);
    t.match(res.json(), { errors: [{ path }] });
  }
});

t.test('callsnare audit state folds a lead stream (it had no fold before)', async (t) => {
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFileOwned(
      process.execPath,
      [CLI_BIN, 'audit', 'state', '--stream', leadStream, '--as-of', '2026-12-01T16:30:00Z', '--json'],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url }, cwd: REPO_ROOT, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  t.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Json;
  t.match(out, { stream: leadStream, revision: 2, events: 3, state: { id: lead.id, status: 'booked' } });
});
