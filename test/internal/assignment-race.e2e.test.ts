// Two tabs assigning one lead to different people (CONTRACT §10, issue 27 item 7): exactly one LeadAssigned,
// the other tab gets 409 `assignee_changed` naming who has the lead now; a stale page cannot silently
// override a teammate's assignment. Concurrent requests through the real HTTP stack.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { CommandCaller } from '../../src/commands/context.ts';
import { recordMissedCall } from '../../src/commands/leads.ts';
import { addMember } from '../../src/commands/orgs.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { issueCredential } from '../../src/identity/index.ts';
import { operator, testApp, testClock } from '../support/app.ts';
import { sid } from '../webhooks/fixtures/providers.ts';

const clock = testClock('2026-12-05T15:00:00.000Z');
const ctx = await testApp(t, { clock });
const { app, services } = ctx;
const API = '/api/internal/v1';
const BUSINESS = '+15125550100';
const orgId = await ctx.createOrg({ phones: [BUSINESS] });
let nextCaller = 5553700;

async function member(role: MemberRole, email: string) {
  const memberId = randomUUID();
  await addMember(services, operator(orgId), { orgId, memberId, email, role });
  const issued = await issueCredential(services, operator(orgId), { orgId, label: email, kind: 'member', memberId, role });
  await ctx.catchUpAll();
  return { memberId, email, token: issued.token };
}
const dana = await member('member', 'dana@acme.test');
const sam = await member('admin', 'sam@acme.test');
const lee = await member('member', 'lee@acme.test');

const twilio: CommandCaller = { orgId, actor: { type: 'provider', id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() };
async function newLead() {
  const { lead } = await recordMissedCall(services, twilio, {
    callSid: sid('CA'),
    from: `+1512${nextCaller++}`,
    to: BUSINESS,
    callStatus: 'no-answer',
    calledAt: clock().toISOString(),
  });
  return lead.id;
}
const assign = (leadId: string, token: string, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `${API}/leads/${leadId}/assignee`, headers: { authorization: `Bearer ${token}` }, payload: body });
const assignments = async (leadId: string) =>
  (await services.store.readStream(`lead-${leadId}`)).filter((e) => e.type === 'LeadAssigned' || e.type === 'LeadUnassigned').length;

t.test('two tabs that both saw "Unassigned" assign different people at once: one wins, the other is told who has it', async (t) => {
  for (let round = 0; round < 5; round++) {
    const leadId = await newLead();
    const [a, b] = await Promise.all([
      assign(leadId, dana.token, { memberId: dana.memberId, expectedMemberId: null }),
      assign(leadId, sam.token, { memberId: lee.memberId, expectedMemberId: null }),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    t.same(codes, [200, 409], `round ${round}: one 200, one 409`);
    const [won, lost] = a.statusCode === 200 ? [a, b] : [b, a];
    const winner = won.json().assignee as { memberId: string; label: string };
    t.equal(lost.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(lost.json(), { status: 409, code: 'assignee_changed' });
    t.match(
      lost.json().detail,
      new RegExp(`assigned to ${winner.label.replace('.', '\\.')} \\(member ${winner.memberId}\\)`),
      'names who has it',
    );
    t.equal(await assignments(leadId), 1, 'exactly one LeadAssigned');
  }
});

t.test('a page that is behind cannot override or undo a teammate: 409 names the current assignee, nothing recorded', async (t) => {
  const leadId = await newLead();
  t.equal((await assign(leadId, sam.token, { memberId: sam.memberId, expectedMemberId: null })).statusCode, 200);
  const stale = await assign(leadId, dana.token, { memberId: dana.memberId, expectedMemberId: null });
  t.equal(stale.statusCode, 409);
  t.match(stale.json().detail, /assigned to sam@acme\.test/);
  const unassign = await assign(leadId, dana.token, { memberId: null, expectedMemberId: lee.memberId });
  t.equal(unassign.statusCode, 409, 'unassigning what the page thought was Lee’s');
  t.equal(await assignments(leadId), 1);
  const current = await assign(leadId, dana.token, { memberId: dana.memberId, expectedMemberId: sam.memberId });
  t.equal(current.statusCode, 200, 'with the current assignee in view, reassigning works');
  t.equal(current.json().assignee.memberId, dana.memberId);
  const same = await assign(leadId, lee.token, { memberId: dana.memberId, expectedMemberId: null });
  t.equal(same.statusCode, 200, 'asking for what is already so is fine, whatever the page saw');
  t.equal(await assignments(leadId), 2);
});

t.test('without expectedMemberId a deliberate reassignment still works (the API before this field)', async (t) => {
  const leadId = await newLead();
  t.equal((await assign(leadId, sam.token, { memberId: sam.memberId })).statusCode, 200);
  t.equal((await assign(leadId, dana.token, { memberId: lee.memberId })).statusCode, 200);
  t.equal((await assign(leadId, dana.token, { memberId: null })).statusCode, 200);
  t.equal(await assignments(leadId), 3);
});

t.test('bad expectedMemberId is a 400 and changes nothing', async (t) => {
  const leadId = await newLead();
  const res = await assign(leadId, dana.token, { memberId: dana.memberId, expectedMemberId: 'nobody' });
  t.equal(res.statusCode, 400);
  t.equal(res.json().errors[0].path, 'body.expectedMemberId');
  t.equal(await assignments(leadId), 0);
});
