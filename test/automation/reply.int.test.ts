import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { type Messaging, PermanentMessagingError } from '../../src/automation/messaging/port.ts';
import { TASKS } from '../../src/automation/process-manager.ts';
import { runJob } from '../../src/automation/tasks.ts';
import { buildServer } from '../../src/http/server.ts';
import { recordMissedCall } from '../../src/commands/leads.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { operator } from '../support/app.ts';
import { eventCount, messageStatus, postTwilio, PROVIDER_ENV, sid } from '../webhooks/fixtures/providers.ts';
import { automationApp } from './support.ts';

/**
 * Reply by text (CONTRACT §7): POST /leads/:id/messages records OutboundTextRequested; the process
 * manager queues one job per message (job key); the job sends through the messaging port and records
 * OutboundTextSent / OutboundTextFailed; Twilio's status callback updates the delivery.
 */
const ctx = await automationApp(t, { env: PROVIDER_ENV });
const { app, services, database } = ctx;
const API = '/api/internal/v1';
const BUSINESS = '+15125550100';
type Json = Record<string, any>;
let orgId = '';
let member = { token: '', memberId: '' };
let caller = '';
let nextCaller = 5552300;

async function setup() {
  await ctx.reset();
  orgId = await ctx.createOrg({ phones: [BUSINESS] });
  member = await ctx.memberToken(orgId, 'member');
  caller = `+1512${nextCaller++}`;
  // Text-back off: the only outbound message is the member's.
  await configureOrg(services, operator(orgId), { orgId, changes: { textBack: false } });
  const { lead } = await recordMissedCall(
    services,
    { orgId, actor: { type: 'provider', id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() },
    {
      callSid: sid('CA'),
      from: caller,
      to: BUSINESS,
      callStatus: 'no-answer',
      calledAt: ctx.clock().toISOString(),
    },
  );
  await ctx.project();
  return lead.id;
}

const send = (leadId: string, payload: object, token = member.token, server = app) =>
  server.inject({ method: 'POST', url: `${API}/leads/${leadId}/messages`, headers: { authorization: `Bearer ${token}` }, payload });

async function detail(leadId: string): Promise<Json> {
  await ctx.project();
  return (
    await app.inject({ method: 'GET', url: `${API}/leads/${leadId}`, headers: { authorization: `Bearer ${member.token}` } })
  ).json() as Json;
}

t.test('a reply is accepted (202, queued), sent once by the job, and its delivery report lands on the timeline', async (t) => {
  const leadId = await setup();
  const clientMessageId = randomUUID();
  const first = await send(leadId, { body: 'We can come at 3pm today', clientMessageId });
  t.equal(first.statusCode, 202);
  const message = first.json() as Json;
  t.match(message, { leadId, clientMessageId, body: 'We can come at 3pm today', to: caller, state: 'queued' });
  t.ok(first.headers['consistency-token']);
  const again = await send(leadId, { body: 'We can come at 3pm today', clientMessageId });
  t.equal(again.statusCode, 202);
  t.same(again.json(), message, 'a repeat answers the same message');
  t.equal(await eventCount(database, 'OutboundTextRequested'), 1, 'and records nothing');

  await ctx.queue();
  const jobs = await ctx.jobs({ task: TASKS.reply });
  t.equal(jobs.length, 1);
  t.equal(jobs[0]!.key, `reply:${leadId}:${message.id}`);
  await ctx.runDue();
  const outbound = await ctx.outbound(`lead-${leadId}`);
  t.equal(outbound.length, 1);
  t.match(outbound[0], { kind: 'reply', to: caller, from: BUSINESS, body: 'We can come at 3pm today' });
  t.same(
    await ctx.eventTypes(`lead-${leadId}`),
    ['LeadOpened', 'MissedCallRecorded', 'OutboundTextRequested', 'LeadAssigned', 'OutboundTextSent'],
    "the member's reply also assigns the unassigned lead to them (CONTRACT §10)",
  );

  const sentView = await send(leadId, { body: 'We can come at 3pm today', clientMessageId });
  t.match(sentView.json(), { id: message.id, state: 'sent', providerMessageId: outbound[0]!.message_id });

  const report = await postTwilio(
    app,
    '/webhooks/twilio/message-status',
    messageStatus({ messageSid: outbound[0]!.message_id, from: BUSINESS, to: caller, status: 'delivered' }),
  );
  t.equal(report.statusCode, 200);
  const lead = await detail(leadId);
  const entry = lead.timeline.find((e: Json) => e.type === 'OutboundTextRequested');
  t.match(entry, {
    kind: 'outbound_text',
    actor: { type: 'team_member', id: member.memberId },
    message: { state: 'sent' },
    delivery: { status: 'delivered' },
  });
  t.ok(lead.timeline.some((e: Json) => e.type === 'OutboundTextSent' && e.delivery?.status === 'delivered'));
  t.equal(lead.waitingSince, null, 'the reply answers the caller');
  t.equal(lead.counts.outboundTexts, 1);
});

t.test('the same clientMessageId never sends twice: two API processes racing, two workers racing', async (t) => {
  const leadId = await setup();
  const second = await buildServer(services);
  await second.ready();
  t.teardown(() => second.close());
  const clientMessageId = randomUUID();
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => send(leadId, { body: 'On our way', clientMessageId }, member.token, i % 2 ? second : app)),
  );
  t.same(
    answers.map((a) => a.statusCode),
    Array(10).fill(202),
  );
  t.equal(new Set(answers.map((a) => a.json().id)).size, 1, 'one message id');
  t.equal(await eventCount(database, 'OutboundTextRequested'), 1, 'one request recorded');
  await ctx.queue();
  await ctx.queue();
  t.equal((await ctx.jobs({ task: TASKS.reply })).length, 1, 'one job');

  // Two workers run the same job at once (e.g. a lock lost mid-run): the ledger sends once, one event records it.
  const [job] = await ctx.jobs({ task: TASKS.reply });
  const payload = job!.payload as Parameters<typeof runJob>[1];
  const run = { attempt: 1, maxAttempts: 8, defer: async () => {} };
  const results = await Promise.all([runJob(ctx.deps, payload, run), runJob(ctx.deps, payload, run), runJob(ctx.deps, payload, run)]);
  t.ok(results.some((r) => r.outcome === 'sent'));
  t.equal((await ctx.outbound(`lead-${leadId}`)).length, 1, 'one message out');
  const { rows } = await sql<{ requests: number }>`select requests from outbound_messages where subject = ${`lead-${leadId}`}`.execute(
    services.db,
  );
  t.ok(rows[0]!.requests >= 1);
  t.equal(await eventCount(database, 'OutboundTextSent'), 1, 'one OutboundTextSent');
  await ctx.runDue();
  t.equal((await ctx.outbound(`lead-${leadId}`)).length, 1, 'the queued job then finds it recorded');
  t.equal(await eventCount(database, 'OutboundTextSent'), 1);
});

t.test('a reply in quiet hours waits for them to end; a refused one records OutboundTextFailed', async (t) => {
  const leadId = await setup();
  // START is 10:00 in Chicago: quiet until 11:00.
  await configureOrg(services, operator(orgId), { orgId, changes: { quietHours: { start: '09:00', end: '11:00' } } });
  const res = await send(leadId, { body: 'Morning! Still need us?', clientMessageId: randomUUID() });
  t.equal(res.statusCode, 202);
  t.equal(res.json().state, 'queued');
  await ctx.queue();
  const [job] = await ctx.jobs({ task: TASKS.reply });
  t.equal(job!.runAt.toISOString(), '2031-03-10T16:00:00.000Z', 'runs when the quiet hours end');
  await ctx.runDue();
  t.equal((await ctx.outbound()).length, 0, 'nothing sent in quiet hours');

  ctx.clock.set('2031-03-10T16:00:00.000Z');
  const refusing: Messaging = {
    provider: 'twilio',
    async send() {
      throw new PermanentMessagingError('Twilio 400 (code 21610): Attempt to send to unsubscribed recipient', 400, '21610');
    },
  };
  await ctx.runDue({ messaging: refusing });
  t.same((await ctx.eventTypes(`lead-${leadId}`)).slice(-1), ['OutboundTextFailed']);
  const lead = await detail(leadId);
  t.match(
    lead.timeline.find((e: Json) => e.type === 'OutboundTextRequested'),
    { message: { state: 'failed', error: /21610/ } },
  );
  t.match(lead.timeline.at(-1), { kind: 'outbound_text_failed', summary: /unsubscribed/ });
});

t.test('a reply: bad input is 400, another clientMessageId body is 409, roles 403, other org 404; nothing recorded', async (t) => {
  const leadId = await setup();
  const clientMessageId = randomUUID();
  t.equal((await send(leadId, { body: 'first', clientMessageId })).statusCode, 202);
  const before = await eventCount(database);
  const reused = await send(leadId, { body: 'second', clientMessageId });
  t.equal(reused.statusCode, 409);
  t.equal(reused.json().code, 'client_message_id_reused');
  for (const [payload, path] of [
    [{ body: '', clientMessageId: randomUUID() }, 'body.body'],
    [{ body: 'x'.repeat(1601), clientMessageId: randomUUID() }, 'body.body'],
    [{ body: 'hi' }, 'body.clientMessageId'],
    [{ body: 'hi', clientMessageId: 'short' }, 'body.clientMessageId'],
    [{ body: 'hi', clientMessageId: randomUUID(), to: '+15125550000' }, 'body'],
  ] as const) {
    const res = await send(leadId, payload);
    t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60));
    t.match(res.headers['content-type'], /application\/problem\+json/);
    t.ok(
      (res.json().errors as Json[]).some((e) => e.path.startsWith(path)),
      path,
    );
  }
  const auditor = await ctx.memberToken(orgId, 'auditor');
  const denied = await send(leadId, { body: 'hi', clientMessageId: randomUUID() }, auditor.token);
  t.equal(denied.statusCode, 403);
  const otherOrg = await ctx.createOrg({ phones: ['+15125550111'] });
  const stranger = await ctx.memberToken(otherOrg, 'owner');
  const foreign = await send(leadId, { body: 'hi', clientMessageId: randomUUID() }, stranger.token);
  const absent = await send(randomUUID(), { body: 'hi', clientMessageId: randomUUID() }, stranger.token);
  t.equal(foreign.statusCode, 404);
  t.same({ ...foreign.json(), requestId: 0 }, { ...absent.json(), requestId: 0 });
  t.equal(await eventCount(database), before + 2 /* the two tokens */ + 1 /* the org */, 'no lead event recorded');
});
