// Response targets (CONTRACT §10): a new lead's first response is due `responseTargetMinutes` of business
// time after it opens; the check runs as a job at that time and records LeadResponseOverdue once, however
// many workers run it.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { jobKeys } from '../../src/automation/keys.ts';
import { TASKS } from '../../src/automation/process-manager.ts';
import { runJob } from '../../src/automation/tasks.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { logCallBack, recordMissedCall } from '../../src/commands/leads.ts';
import { leadStream } from '../../src/domain/lead.ts';
import { memberCaller, operator, twilioCaller } from '../support/app.ts';
import { sid } from '../webhooks/fixtures/providers.ts';
import { START, automationApp } from './support.ts';

const app = await automationApp(t);
const { services, clock } = app;
const BUSINESS = '+15125550100';
t.beforeEach(() => app.reset());

const twilio = twilioCaller;
const member = memberCaller;

async function missedCall(orgId: string, caller = '+15125550177') {
  const { lead } = await recordMissedCall(services, twilio(orgId), {
    callSid: sid('CA'),
    from: caller,
    to: BUSINESS,
    callStatus: 'no-answer',
    calledAt: clock().toISOString(),
  });
  return lead;
}
const overdueCount = async (leadId: string) => (await app.eventTypes(leadStream(leadId))).filter((t) => t === 'LeadResponseOverdue').length;
const runCheck = (orgId: string, leadId: string) =>
  runJob(
    app.deps,
    {
      task: TASKS.responseDue,
      key: jobKeys.responseDue(leadId),
      orgId,
      leadId,
      cause: { eventId: randomUUID(), correlationId: randomUUID() },
    },
    { attempt: 1, maxAttempts: 5, defer: async () => {} },
  );

t.test('the target counts business time: due 5 minutes after a call at 10:00, Monday 08:05 after a Friday-night call', async (t) => {
  const orgId = await app.createOrg({ name: 'Acme HVAC', phones: [BUSINESS], timezone: 'America/Chicago' });
  clock.set(START); // Monday 10:00 CDT
  const lead = await missedCall(orgId);
  t.equal(lead.firstResponseDueAt, '2031-03-10T15:05:00.000Z');
  t.equal(lead.firstResponseHalfAt, '2031-03-10T15:02:30.000Z');
  await app.queue();
  t.match(
    (await app.jobs({ task: TASKS.responseDue })).map((j) => [j.key, j.runAt.toISOString()]),
    [[jobKeys.responseDue(lead.id), '2031-03-10T15:05:00.000Z']],
    'the check is queued for the due time',
  );
  clock.set('2031-03-15T01:00:00.000Z'); // Friday 20:00 CDT
  const late = await missedCall(orgId, '+15125550178');
  t.equal(late.firstResponseDueAt, '2031-03-17T13:05:00.000Z', 'Monday 08:05 CDT');
});

t.test('the org sets its own target (responseTargetMinutes)', async (t) => {
  const orgId = await app.createOrg({ name: 'Acme HVAC', phones: [BUSINESS], timezone: 'America/Chicago' });
  await configureOrg(services, operator(orgId), { orgId, changes: { responseTargetMinutes: 30 } });
  clock.set(START);
  t.equal((await missedCall(orgId)).firstResponseDueAt, '2031-03-10T15:30:00.000Z');
});

t.test('nobody answered by the due time: LeadResponseOverdue once, even with several workers at once', async (t) => {
  const orgId = await app.createOrg({ name: 'Acme HVAC', phones: [BUSINESS], timezone: 'America/Chicago' });
  clock.set(START);
  const lead = await missedCall(orgId);
  clock.set('2031-03-10T15:04:00.000Z');
  t.match(await runCheck(orgId, lead.id), { outcome: 'deferred', runAt: '2031-03-10T15:05:00.000Z' }, 'early: put off to the due time');
  t.equal(await overdueCount(lead.id), 0);
  clock.set('2031-03-10T15:06:00.000Z');
  const results = await Promise.all([runCheck(orgId, lead.id), runCheck(orgId, lead.id), runCheck(orgId, lead.id)]);
  t.equal(results.filter((r) => r.outcome === 'sent').length, 1, 'one run records it');
  t.equal(await overdueCount(lead.id), 1, 'recorded once');
  await runCheck(orgId, lead.id);
  t.equal(await overdueCount(lead.id), 1, 'a retry records nothing');
  // The job queue path too: the queued check, run by the worker, finds it recorded.
  await app.queue();
  await app.runDue();
  t.equal(await overdueCount(lead.id), 1);
});

t.test('a call-back logged in time is the first response: nothing overdue', async (t) => {
  const orgId = await app.createOrg({ name: 'Acme HVAC', phones: [BUSINESS], timezone: 'America/Chicago' });
  clock.set(START);
  const lead = await missedCall(orgId);
  clock.set('2031-03-10T15:03:00.000Z');
  const logged = await logCallBack(services, member(orgId), lead.id, { outcome: 'voicemail' });
  t.equal(logged.lead.firstRespondedAt, '2031-03-10T15:03:00.000Z');
  clock.set('2031-03-10T15:06:00.000Z');
  t.match(await runCheck(orgId, lead.id), { outcome: 'noop' });
  t.equal(await overdueCount(lead.id), 0);
});
