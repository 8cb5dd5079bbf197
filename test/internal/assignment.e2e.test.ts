// Lead assignment through the internal API (CONTRACT §10): assign/unassign, who may, the Mine /
// Unassigned / All filters with counts, a reply assigning an unassigned lead, and the two-tab race.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { recordMissedCall } from '../../src/commands/leads.ts';
import { addMember, removeMember } from '../../src/commands/orgs.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { issueCredential } from '../../src/identity/index.ts';
import { operator, testApp, testClock } from '../support/app.ts';
import { settle, sid } from '../webhooks/fixtures/providers.ts';

const clock = testClock('2026-12-05T15:00:00.000Z');
const ctx = await testApp(t, { clock });
const { app, services } = ctx;
const API = '/api/internal/v1';
const BUSINESS = '+15125550100';
const orgA = await ctx.createOrg({ phones: [BUSINESS] });
const orgB = await ctx.createOrg({ phones: ['+15125550111'] });

type Json = Record<string, any>;

/** A member of the org (on the org stream, as `member create` records one) with a member token. */
async function member(orgId: string, role: MemberRole, email = `${role}-${randomUUID().slice(0, 6)}@acme.test`) {
  const memberId = randomUUID();
  await addMember(services, operator(orgId), { orgId, memberId, email, role });
  const issued = await issueCredential(services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role });
  await ctx.catchUpAll();
  return { memberId, email, token: issued.token };
}

const dana = await member(orgA, 'member', 'dana@acme.test');
const sam = await member(orgA, 'admin', 'sam@acme.test');
const auditor = await member(orgA, 'auditor');
const outsider = await member(orgB, 'owner');

let nextCaller = 5552400;
const twilio = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'provider', id: 'twilio', label: 'Twilio' },
  correlationId: randomUUID(),
});
async function newLead(orgId = orgA) {
  const { lead } = await recordMissedCall(services, twilio(orgId), {
    callSid: sid('CA'),
    from: `+1512${nextCaller++}`,
    to: orgId === orgA ? BUSINESS : '+15125550111',
    callStatus: 'no-answer',
    calledAt: clock().toISOString(),
  });
  return lead.id;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const assign = (leadId: string, memberId: string | null, token = dana.token) =>
  app.inject({ method: 'POST', url: `${API}/leads/${leadId}/assignee`, headers: bearer(token), payload: { memberId } });
async function get(url: string, token = dana.token): Promise<Json> {
  await settle(ctx);
  const res = await app.inject({ method: 'GET', url, headers: bearer(token) });
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res.json() as Json;
}
const eventsOf = async (leadId: string, type: string) =>
  Number(
    (await ctx.database.pool.query(`select count(*) from es_events where stream_id = $1 and event_type = $2`, [`lead-${leadId}`, type]))
      .rows[0].count,
  );

t.test('a member assigns a lead to a teammate, reassigns it and unassigns it; the lead carries its assignee', async (t) => {
  const leadId = await newLead();
  let res = await assign(leadId, sam.memberId);
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { id: leadId, assignee: { memberId: sam.memberId, label: 'sam@acme.test' } });
  t.ok(res.headers['consistency-token'], 'read-your-writes token');
  t.match((await get(`${API}/leads/${leadId}`)).assignee, { memberId: sam.memberId, label: 'sam@acme.test', since: clock().toISOString() });
  res = await assign(leadId, sam.memberId);
  t.equal(res.statusCode, 200, 'the same assignee again is fine');
  t.equal(await eventsOf(leadId, 'LeadAssigned'), 1, '...and records nothing more');
  res = await assign(leadId, dana.memberId, sam.token);
  t.equal(res.json().assignee.memberId, dana.memberId);
  res = await assign(leadId, null);
  t.equal(res.statusCode, 200);
  t.equal(res.json().assignee, null);
  t.equal(await eventsOf(leadId, 'LeadUnassigned'), 1);
  const lead = await get(`${API}/leads/${leadId}`);
  t.equal(lead.assignee, null);
  t.same(
    lead.timeline.filter((e: Json) => e.kind === 'assignment').map((e: Json) => e.summary),
    ['assigned to sam@acme.test', 'assigned to dana@acme.test', 'unassigned'],
    'assignments are on the timeline',
  );
});

t.test('who may assign: another org is 404, an auditor 403, no token 401; nothing is recorded', async (t) => {
  const leadId = await newLead();
  const foreign = await assign(leadId, outsider.memberId, outsider.token);
  t.equal(foreign.statusCode, 404, "another org's lead is not found");
  t.equal(foreign.headers['content-type'], 'application/problem+json; charset=utf-8');
  const asAuditor = await assign(leadId, dana.memberId, auditor.token);
  t.equal(asAuditor.statusCode, 403);
  t.equal(asAuditor.json().code, 'insufficient_role');
  const anonymous = await app.inject({ method: 'POST', url: `${API}/leads/${leadId}/assignee`, payload: { memberId: dana.memberId } });
  t.equal(anonymous.statusCode, 401);
  t.equal(await eventsOf(leadId, 'LeadAssigned'), 0);
});

t.test('bad assignees get a clear answer and change nothing', async (t) => {
  const leadId = await newLead();
  const cases: [string, unknown, RegExp][] = [
    ['a member of another org', outsider.memberId, /no current member of this org/],
    ['an auditor', auditor.memberId, /leads go to owners, admins and members/],
    ['not an id', 'dana', /member id/],
  ];
  for (const [what, memberId, detail] of cases) {
    const res = await app.inject({
      method: 'POST',
      url: `${API}/leads/${leadId}/assignee`,
      headers: bearer(dana.token),
      payload: { memberId },
    });
    t.equal(res.statusCode, 400, what);
    t.equal(res.json().errors[0].path, 'body.memberId', what);
    t.match(JSON.stringify(res.json()), detail, what);
  }
  const missing = await app.inject({ method: 'POST', url: `${API}/leads/${leadId}/assignee`, headers: bearer(dana.token), payload: {} });
  t.equal(missing.statusCode, 400, 'memberId is required (null unassigns)');
  const gone = await member(orgA, 'member');
  await removeMember(services, operator(orgA), { orgId: orgA, memberId: gone.memberId, byRole: 'operator' });
  const removed = await assign(leadId, gone.memberId);
  t.equal(removed.statusCode, 400, 'a removed member');
  t.equal(await eventsOf(leadId, 'LeadAssigned'), 0);
  t.equal((await assign(randomUUID(), dana.memberId)).statusCode, 404, 'an absent lead');
});

t.test('two tabs assign the same lead at once: one LeadAssigned, both answered 200', async (t) => {
  const leadId = await newLead();
  const results = await Promise.all([
    assign(leadId, dana.memberId),
    assign(leadId, dana.memberId, sam.token),
    assign(leadId, dana.memberId),
  ]);
  t.same(
    results.map((r) => r.statusCode),
    [200, 200, 200],
  );
  t.equal(await eventsOf(leadId, 'LeadAssigned'), 1);
});

t.test("a member's reply assigns an unassigned lead to them, never an assigned one", async (t) => {
  const leadId = await newLead();
  const reply = (token: string, text: string) =>
    app.inject({
      method: 'POST',
      url: `${API}/leads/${leadId}/messages`,
      headers: bearer(token),
      payload: { body: text, clientMessageId: randomUUID() },
    });
  t.equal((await reply(sam.token, 'We can come today')).statusCode, 202);
  let lead = await get(`${API}/leads/${leadId}`);
  t.match(lead.assignee, { memberId: sam.memberId });
  t.match(lead.timeline.find((e: Json) => e.kind === 'assignment')?.summary, 'assigned to sam@acme.test (replied first)');
  t.equal((await reply(dana.token, 'Dana here too')).statusCode, 202);
  lead = await get(`${API}/leads/${leadId}`);
  t.match(lead.assignee, { memberId: sam.memberId }, 'still Sam');
  t.equal(await eventsOf(leadId, 'LeadAssigned'), 1);
});

t.test('Mine / Unassigned / All: filters and counts', async (t) => {
  const org = await ctx.createOrg({ phones: ['+15125550122'] });
  const a = await member(org, 'member', 'a@other.test');
  const b = await member(org, 'member', 'b@other.test');
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const { lead } = await recordMissedCall(services, twilio(org), {
      callSid: sid('CA'),
      from: `+1512${nextCaller++}`,
      to: '+15125550122',
      callStatus: 'no-answer',
      calledAt: clock().toISOString(),
    });
    ids.push(lead.id);
  }
  await assign(ids[0]!, a.memberId, a.token);
  await assign(ids[1]!, a.memberId, a.token);
  await assign(ids[2]!, b.memberId, a.token);
  const mine = await get(`${API}/leads?assignee=me&status=all`, a.token);
  t.same(mine.data.map((l: Json) => l.id).sort(), [ids[0], ids[1]].sort(), 'mine');
  t.same(mine.counts, { mine: 2, unassigned: 1, all: 4 });
  const none = await get(`${API}/leads?assignee=none&status=all`, a.token);
  t.same(
    none.data.map((l: Json) => l.id),
    [ids[3]],
    'unassigned',
  );
  t.same((await get(`${API}/leads?status=all`, b.token)).counts, { mine: 1, unassigned: 1, all: 4 }, "counts are the reader's");
  const byMember = await get(`${API}/leads?assignee=${b.memberId}&status=all`, a.token);
  t.same(
    byMember.data.map((l: Json) => l.id),
    [ids[2]],
    "a teammate's leads",
  );
  t.match(byMember.data[0].assignee, { memberId: b.memberId, label: 'b@other.test' }, 'the list shows the assignee');
  const bad = await app.inject({ method: 'GET', url: `${API}/leads?assignee=someone`, headers: bearer(a.token) });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errors[0].path, 'querystring.assignee');
});

t.test('GET /assignees: the org’s owners, admins and members; an auditor 403, no token 401', async (t) => {
  const list = await get(`${API}/assignees`);
  const emails = list.data.map((m: Json) => m.email);
  t.ok(emails.includes('dana@acme.test') && emails.includes('sam@acme.test'));
  t.notOk(emails.includes(auditor.email), 'auditors are not assignable');
  t.notOk(emails.includes(outsider.email), 'never another org’s people');
  t.equal((await app.inject({ method: 'GET', url: `${API}/assignees`, headers: bearer(auditor.token) })).statusCode, 403);
  t.equal((await app.inject({ method: 'GET', url: `${API}/assignees` })).statusCode, 401);
});

t.test(
  'POST /leads/:id/call-logs: a call-back is the first response; another org 404, an auditor 403, no token 401, bad input 400',
  async (t) => {
    const leadId = await newLead();
    let lead = await get(`${API}/leads/${leadId}`);
    t.match(lead, { firstResponseDueAt: String, firstRespondedAt: null, responseBreached: false }, 'a new lead has a due time');
    const log = (payload: unknown, token?: string) =>
      app.inject({
        method: 'POST',
        url: `${API}/leads/${leadId}/call-logs`,
        ...(token && { headers: bearer(token) }),
        payload: payload as object,
      });
    t.equal((await log({ outcome: 'reached' }, outsider.token)).statusCode, 404, "another org's lead");
    t.equal((await log({ outcome: 'reached' }, auditor.token)).statusCode, 403);
    t.equal((await log({ outcome: 'reached' })).statusCode, 401);
    const bad = await log({ outcome: 'maybe' }, dana.token);
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().errors[0].path, 'body.outcome');
    t.equal(await eventsOf(leadId, 'CallBackLogged'), 0, 'nothing recorded by refused calls');
    clock.advance(60_000);
    const ok = await log({ outcome: 'voicemail', note: 'left a message' }, dana.token);
    t.equal(ok.statusCode, 201, ok.body);
    t.equal(ok.json().firstRespondedAt, clock().toISOString());
    lead = await get(`${API}/leads/${leadId}`);
    t.equal(lead.firstRespondedAt, clock().toISOString());
    t.match(
      lead.timeline.find((e: Json) => e.type === 'CallBackLogged'),
      { kind: 'call_back', summary: 'called back: voicemail ("left a message")' },
    );
    t.equal(lead.waitingSince !== null, true, 'a voicemail leaves the caller waiting');
  },
);
