import t, { type Test } from 'tap';
import { recordOutboundText } from '../../src/commands/leads.ts';
import { leadIdFor } from '../../src/domain/ids.ts';
import { testApp, operator } from '../support/app.ts';
import {
  dialActionCallback,
  eventCount,
  inboundSms,
  messageStatus,
  postTwilio,
  PROVIDER_ENV,
  settle,
  sid,
  twilioSignature,
  voiceStatusCallback,
} from './fixtures/providers.ts';

const ctx = await testApp(t, { env: PROVIDER_ENV });
const { app, services, database } = ctx;
const BUSINESS = '+15125550100';
const OTHER_BUSINESS = '+15125550111';
const orgA = await ctx.createOrg({ name: 'Acme HVAC', phones: [BUSINESS] });
const orgB = await ctx.createOrg({ name: 'Borealis Heating', phones: [OTHER_BUSINESS] });
const memberA = await ctx.memberToken(orgA, 'member');
await settle(ctx);

const VOICE = '/webhooks/twilio/voice';
const SMS = '/webhooks/twilio/sms';
const STATUS = '/webhooks/twilio/message-status';

let nextCaller = 5550200;
const newCaller = () => `+1512${nextCaller++}`;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function leadsOf(orgId: string, caller: string) {
  await settle(ctx);
  const { rows } = await database.pool.query<{ id: string; status: string; state: { counts: Record<string, number> } }>(
    'select id, status, state from leads where org_id = $1 and caller_phone = $2 order by generation',
    [orgId, caller],
  );
  return rows;
}

async function detail(leadId: string, token = memberA.token) {
  await settle(ctx);
  const res = await app.inject({ method: 'GET', url: `/api/internal/v1/leads/${leadId}`, headers: bearer(token) });
  return {
    res,
    body: res.json() as {
      status: string;
      counts: Record<string, number>;
      timeline: { kind: string; type: string; actor: { type: string; id: string }; delivery?: { status: string } }[];
    } & Record<string, unknown>,
  };
}

function assertTwiml(t: Test, res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  t.equal(res.statusCode, 200, '200');
  t.match(res.headers['content-type'], /^text\/xml/, 'text/xml');
  t.equal(res.body, '<Response/>', 'empty TwiML');
}

function assertForbidden(t: Test, res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  t.equal(res.statusCode, 403);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.match(res.json(), { status: 403, code: 'invalid_signature', type: '/docs/problems/invalid_signature' });
}

t.test('a missed call creates a lead with one timeline entry and answers empty TwiML', async (t) => {
  const caller = newCaller();
  const callSid = sid('CA');
  const res = await postTwilio(app, VOICE, voiceStatusCallback({ callSid, from: caller, to: BUSINESS, status: 'no-answer' }));
  assertTwiml(t, res);
  t.ok(res.headers['consistency-token'], 'the write position is returned');
  const leads = await leadsOf(orgA, caller);
  t.equal(leads.length, 1, 'one lead');
  t.equal(leads[0]!.id, leadIdFor(orgA, caller, 0), 'the lead id is derived from (org, caller, generation)');
  const { body } = await detail(leads[0]!.id);
  t.equal(body.status, 'active');
  t.equal(body.callerPhone, caller);
  t.equal(body.timeline.length, 1, 'one timeline entry');
  t.match(body.timeline[0], { kind: 'missed_call', type: 'MissedCallRecorded', actor: { type: 'provider', id: 'twilio' } });
  t.match(body.timeline[0], { details: { callSid, callStatus: 'no-answer', calledAt: '2026-12-01T15:04:05.000Z' } });
});

t.test('the same callback 10 times in a row is still one lead and one timeline entry', async (t) => {
  const caller = newCaller();
  const params = voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'busy' });
  for (let i = 0; i < 10; i++) assertTwiml(t, await postTwilio(app, VOICE, params));
  const leads = await leadsOf(orgA, caller);
  t.equal(leads.length, 1);
  const { body } = await detail(leads[0]!.id);
  t.equal(body.timeline.length, 1);
  t.equal(body.counts.missedCalls, 1);
});

t.test('the same callback 10 times concurrently is still one lead and one timeline entry', async (t) => {
  const caller = newCaller();
  const params = voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' });
  const before = await eventCount(database);
  const responses = await Promise.all(Array.from({ length: 10 }, () => postTwilio(app, VOICE, params)));
  for (const res of responses) assertTwiml(t, res);
  t.equal(await eventCount(database), before + 2, 'LeadOpened and MissedCallRecorded, once');
  const leads = await leadsOf(orgA, caller);
  t.equal(leads.length, 1);
  const { body } = await detail(leads[0]!.id);
  t.equal(body.timeline.length, 1);
});

t.test('a repeated callback on an existing lead, 10 concurrently, records the call once', async (t) => {
  const caller = newCaller();
  await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' }));
  const params = voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' });
  await Promise.all(Array.from({ length: 10 }, () => postTwilio(app, VOICE, params)));
  const leads = await leadsOf(orgA, caller);
  t.equal(leads.length, 1);
  const { body } = await detail(leads[0]!.id);
  t.equal(body.counts.missedCalls, 2);
  t.equal(body.timeline.length, 2);
});

t.test('a second call from the same number reuses the lead', async (t) => {
  const caller = newCaller();
  await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' }));
  await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'busy' }));
  const leads = await leadsOf(orgA, caller);
  t.equal(leads.length, 1, 'one lead');
  const { body } = await detail(leads[0]!.id);
  t.same(
    body.timeline.map((e) => e.kind),
    ['missed_call', 'missed_call'],
  );
});

t.test('ten different first calls from one number at once open one lead holding all ten', async (t) => {
  const caller = newCaller();
  const responses = await Promise.all(
    Array.from({ length: 10 }, () =>
      postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' })),
    ),
  );
  for (const res of responses) t.equal(res.statusCode, 200);
  const leads = await leadsOf(orgA, caller);
  t.equal(leads.length, 1, 'one open lead per caller');
  t.equal(leads[0]!.state.counts.missedCalls, 10);
});

t.test('a Dial action callback whose dialed line did not answer is a missed call', async (t) => {
  const caller = newCaller();
  assertTwiml(
    t,
    await postTwilio(app, VOICE, dialActionCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, dialStatus: 'no-answer' })),
  );
  t.equal((await leadsOf(orgA, caller)).length, 1);
});

t.test('an answered call records nothing', async (t) => {
  const caller = newCaller();
  const before = await eventCount(database);
  assertTwiml(
    t,
    await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'completed' })),
  );
  assertTwiml(
    t,
    await postTwilio(app, VOICE, dialActionCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, dialStatus: 'completed' })),
  );
  assertTwiml(t, await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'ringing' })));
  t.equal(await eventCount(database), before);
});

t.test('a missing or wrong signature is 403 and records nothing', async (t) => {
  const caller = newCaller();
  const params = voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' });
  const before = await eventCount(database);
  assertForbidden(t, await postTwilio(app, VOICE, params, { signature: null }));
  assertForbidden(t, await postTwilio(app, VOICE, params, { signature: 'bm90IGEgc2lnbmF0dXJl' }));
  assertForbidden(t, await postTwilio(app, VOICE, params, { signature: twilioSignature(VOICE, params, 'another-accounts-auth-token') }));
  assertForbidden(t, await postTwilio(app, VOICE, params, { signature: twilioSignature(SMS, params) }));
  assertForbidden(t, await postTwilio(app, VOICE, { ...params, From: '+15125559999' }, { signature: twilioSignature(VOICE, params) }));
  assertForbidden(
    t,
    await postTwilio(app, SMS, inboundSms({ messageSid: sid('SM'), from: caller, to: BUSINESS, body: 'hi' }), { signature: 'x' }),
  );
  const json = await app.inject({
    method: 'POST',
    url: VOICE,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(params),
  });
  assertForbidden(t, json);
  t.equal(await eventCount(database), before, 'nothing recorded');
  t.equal((await leadsOf(orgA, caller)).length, 0);
});

t.test('a call to a number no org has is answered 200 and records nothing', async (t) => {
  const before = await eventCount(database);
  assertTwiml(
    t,
    await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: newCaller(), to: '+15125550999', status: 'no-answer' })),
  );
  assertTwiml(t, await postTwilio(app, SMS, inboundSms({ messageSid: sid('SM'), from: newCaller(), to: '+15125550999', body: 'hello?' })));
  t.equal(await eventCount(database), before);
});

t.test('a signed payload missing fields is 400 with the fields named, and records nothing', async (t) => {
  const before = await eventCount(database);
  const { CallSid: _omit, ...params } = voiceStatusCallback({ callSid: sid('CA'), from: newCaller(), to: BUSINESS, status: 'no-answer' });
  const res = await postTwilio(app, VOICE, { ...params, To: '' });
  t.equal(res.statusCode, 400);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  const body = res.json() as { code: string; errors: { path: string; message: string }[] };
  t.equal(body.code, 'validation_failed');
  t.same(body.errors.map((e) => e.path).sort(), ['body.CallSid', 'body.To']);
  t.equal(await eventCount(database), before);
});

t.test('an inbound text lands on the caller’s open lead, once', async (t) => {
  const caller = newCaller();
  await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' }));
  const params = inboundSms({
    messageSid: sid('SM'),
    from: caller,
    to: BUSINESS,
    body: 'Hi, our AC stopped cooling. Can someone come today?',
  });
  const responses = await Promise.all(Array.from({ length: 10 }, () => postTwilio(app, SMS, params)));
  for (const res of responses) assertTwiml(t, res);
  assertTwiml(t, await postTwilio(app, SMS, params));
  const leads = await leadsOf(orgA, caller);
  t.equal(leads.length, 1, 'the same lead');
  const { body } = await detail(leads[0]!.id);
  t.same(
    body.timeline.map((e) => e.kind),
    ['missed_call', 'inbound_text'],
  );
  t.match(body.timeline[1], { details: { body: 'Hi, our AC stopped cooling. Can someone come today?' } });
});

t.test('an inbound text from a new number opens a lead from a text', async (t) => {
  const caller = newCaller();
  await postTwilio(app, SMS, inboundSms({ messageSid: sid('SM'), from: caller, to: BUSINESS, body: 'Do you service heat pumps?' }));
  const [lead] = await leadsOf(orgA, caller);
  const { body } = await detail(lead!.id);
  t.equal(body.source, 'inbound_text');
  t.equal(body.counts.inboundTexts, 1);
});

t.test('the same caller has separate leads in separate orgs', async (t) => {
  const caller = newCaller();
  await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' }));
  await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: OTHER_BUSINESS, status: 'no-answer' }));
  const [a] = await leadsOf(orgA, caller);
  const [b] = await leadsOf(orgB, caller);
  t.ok(a && b && a.id !== b.id);
  const { res } = await detail(b!.id);
  t.equal(res.statusCode, 404, "org A's member cannot see org B's lead");
});

t.test('a caller whose lead was won gets a new lead on the next call; the won lead stays won', async (t) => {
  const caller = newCaller();
  await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' }));
  const [first] = await leadsOf(orgA, caller);
  const won = await app.inject({
    method: 'POST',
    url: `/api/internal/v1/leads/${first!.id}/status`,
    headers: bearer(memberA.token),
    payload: { status: 'won' },
  });
  t.equal(won.statusCode, 200);
  const params = voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' });
  await Promise.all(Array.from({ length: 5 }, () => postTwilio(app, VOICE, params)));
  const leads = await leadsOf(orgA, caller);
  t.same(
    leads.map((l) => l.status),
    ['won', 'active'],
    'the won lead is kept, a new one is open',
  );
  t.equal(leads[1]!.id, leadIdFor(orgA, caller, 1));
  const { body } = await detail(leads[0]!.id);
  t.equal(body.supersededBy, leads[1]!.id);
  const reopen = await app.inject({
    method: 'POST',
    url: `/api/internal/v1/leads/${first!.id}/status`,
    headers: bearer(memberA.token),
    payload: { status: 'active' },
  });
  t.equal(reopen.statusCode, 409, 'the old lead cannot reopen while the caller has a newer one');
  t.equal((reopen.json() as { code: string }).code, 'lead_state_conflict');
  // A retry of the first call, arriving late, is still recognised.
  const replayed = await postTwilio(app, VOICE, params);
  assertTwiml(t, replayed);
  t.equal((await leadsOf(orgA, caller)).length, 2);
});

t.test('delivery reports update the outbound message on its lead, never backwards, once each', async (t) => {
  const caller = newCaller();
  await postTwilio(app, VOICE, voiceStatusCallback({ callSid: sid('CA'), from: caller, to: BUSINESS, status: 'no-answer' }));
  const [lead] = await leadsOf(orgA, caller);
  const messageSid = sid('SM');
  await recordOutboundText(
    services,
    { ...operator(orgA), actor: { type: 'system', id: 'test', label: 'test' } },
    {
      leadId: lead!.id,
      messageId: messageSid,
      to: caller,
      body: 'Sorry we missed your call!',
      kind: 'text_back',
      sentAt: new Date().toISOString(),
    },
  );
  const before = await eventCount(database, 'MessageDeliveryUpdated');
  for (const status of ['sent', 'delivered', 'delivered', 'sent']) {
    assertTwiml(t, await postTwilio(app, STATUS, messageStatus({ messageSid, from: BUSINESS, to: caller, status })));
  }
  t.equal(await eventCount(database, 'MessageDeliveryUpdated'), before + 2, 'sent and delivered, each once');
  const { body } = await detail(lead!.id);
  const outbound = body.timeline.find((e) => e.kind === 'outbound_text');
  t.same(outbound?.delivery, { status: 'delivered' });
});

t.test('without TWILIO_AUTH_TOKEN configured, Twilio webhooks are refused and record nothing', async (t) => {
  const bare = await testApp(t, { env: { PUBLIC_BASE_URL: PROVIDER_ENV.PUBLIC_BASE_URL } });
  await bare.createOrg({ phones: [BUSINESS] });
  const before = await eventCount(bare.database);
  const res = await postTwilio(
    bare.app,
    VOICE,
    voiceStatusCallback({ callSid: sid('CA'), from: newCaller(), to: BUSINESS, status: 'no-answer' }),
  );
  t.equal(res.statusCode, 503);
  t.equal((res.json() as { code: string }).code, 'webhook_not_configured');
  t.equal(await eventCount(bare.database), before);
});
