// Round-robin auto-assignment (CONTRACT §10): off by default; on, each new lead goes to the next owner,
// admin or member in a stable rotation (email order), kept in PostgreSQL so two workers at once still take
// turns; a lead someone took meanwhile stays theirs.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { TASKS } from '../../src/automation/process-manager.ts';
import type { CommandCaller } from '../../src/commands/context.ts';
import { loadStream } from '../../src/commands/execute.ts';
import { recordMissedCall } from '../../src/commands/leads.ts';
import { type LeadEvent, type LeadState, evolve, leadStream } from '../../src/domain/lead.ts';
import { addMember, removeMember } from '../../src/commands/orgs.ts';
import type { MemberRole } from '../../src/domain/events/org.ts';
import { operator } from '../support/app.ts';
import { automationApp } from '../automation/support.ts';
import { sid } from '../webhooks/fixtures/providers.ts';

const ctx = await automationApp(t);
const { app, services } = ctx;
const API = '/api/internal/v1';
const BUSINESS = '+15125550100';
type Json = Record<string, any>;
let nextCaller = 5553500;

const twilio = (orgId: string): CommandCaller => ({
  orgId,
  actor: { type: 'provider', id: 'twilio', label: 'Twilio' },
  correlationId: randomUUID(),
});
async function member(orgId: string, email: string, role: MemberRole) {
  const memberId = randomUUID();
  await addMember(services, operator(orgId), { orgId, memberId, email, role });
  return memberId;
}
async function newLead(orgId: string) {
  const { lead } = await recordMissedCall(services, twilio(orgId), {
    callSid: sid('CA'),
    from: `+1512${nextCaller++}`,
    to: BUSINESS,
    callStatus: 'no-answer',
    calledAt: ctx.clock().toISOString(),
  });
  return lead.id;
}
async function assigneeOf(leadId: string) {
  const { state } = await loadStream<LeadState, LeadEvent>(services.store, leadStream(leadId), evolve, null);
  return state?.assignee?.memberId ?? null;
}

/** An org with members whose emails put them in rotation order c (owner), a (member), b (admin); an auditor and d (removed). */
async function setup(autoAssign: 'none' | 'round_robin' = 'round_robin') {
  await ctx.reset();
  const orgId = await ctx.createOrg({ phones: [BUSINESS] });
  const carol = await member(orgId, 'carol@acme.test', 'owner');
  const alex = await member(orgId, 'Alex@acme.test', 'member');
  const blake = await member(orgId, 'blake@acme.test', 'admin');
  await member(orgId, 'aaron-auditor@acme.test', 'auditor');
  const gone = await member(orgId, 'bea@acme.test', 'member');
  await removeMember(services, operator(orgId), { orgId, memberId: gone, byRole: 'operator' });
  const admin = await ctx.memberToken(orgId, 'admin');
  const res = await app.inject({
    method: 'PUT',
    url: `${API}/settings`,
    headers: { authorization: `Bearer ${admin.token}` },
    payload: { autoAssign },
  });
  if (autoAssign !== 'none' && res.statusCode !== 200) throw new Error(res.body);
  return { orgId, alex, blake, carol, admin };
}

t.test('off by default: a new lead stays unassigned and no job is queued', async (t) => {
  const { orgId } = await setup('none');
  const leadId = await newLead(orgId);
  await ctx.queue();
  t.same(await ctx.jobs({ task: TASKS.autoAssign }), []);
  await ctx.runDue();
  t.equal(await assigneeOf(leadId), null);
});

t.test('on: new leads go to owners, admins and members in turn (email order), never an auditor or a removed member', async (t) => {
  const { orgId, alex, blake, carol, admin } = await setup();
  const leads = [];
  for (let i = 0; i < 4; i++) leads.push(await newLead(orgId));
  await ctx.queue();
  await ctx.runDue();
  t.same(await Promise.all(leads.map(assigneeOf)), [alex, blake, carol, alex], 'alex, blake, carol, then alex again');
  await ctx.project();
  const lead = (
    await app.inject({ method: 'GET', url: `${API}/leads/${leads[0]}`, headers: { authorization: `Bearer ${admin.token}` } })
  ).json() as Json;
  t.match(lead.assignee, { memberId: alex, label: 'Alex@acme.test' });
  t.match(
    lead.timeline.filter((e: Json) => e.kind === 'assignment').map((e: Json) => e.summary),
    ['assigned to Alex@acme.test (round robin)'],
  );
  // The rotation goes on from where it stopped, whatever process picks the next lead.
  const next = await newLead(orgId);
  await ctx.queue();
  await ctx.runDue();
  t.equal(await assigneeOf(next), blake);
});

t.test('two workers at once take turns: six leads, two each', async (t) => {
  const { orgId, alex, blake, carol } = await setup();
  const leads = [];
  for (let i = 0; i < 6; i++) leads.push(await newLead(orgId));
  await ctx.queue();
  await Promise.all([ctx.runDue(), ctx.runDue()]);
  const owners = await Promise.all(leads.map(assigneeOf));
  const count = (id: string) => owners.filter((o) => o === id).length;
  t.same([count(alex), count(blake), count(carol)], [2, 2, 2], JSON.stringify(owners));
  const { rows } = await ctx.database.pool.query('select count(*) from round_robin_picks');
  t.equal(Number(rows[0].count), 6, 'one pick per lead');
});

t.test('a lead someone took before the job ran stays theirs, and the rotation does not move for it', async (t) => {
  const { orgId, blake, admin, alex } = await setup();
  const leadId = await newLead(orgId);
  await ctx.project();
  const res = await app.inject({
    method: 'POST',
    url: `${API}/leads/${leadId}/assignee`,
    headers: { authorization: `Bearer ${admin.token}` },
    payload: { memberId: blake },
  });
  t.equal(res.statusCode, 200, res.body);
  await ctx.queue();
  await ctx.runDue();
  t.equal(await assigneeOf(leadId), blake);
  const events = (await services.store.readStream(`lead-${leadId}`)).filter((e) => e.type === 'LeadAssigned');
  t.equal(events.length, 1, 'one LeadAssigned');
  const next = await newLead(orgId);
  await ctx.queue();
  await ctx.runDue();
  t.equal(await assigneeOf(next), alex, 'the next lead is the first in turn');
});
