// On-call alerts (CONTRACT §10) through the real HTTP stack, the real job queue and the Twilio wire format
// (a local fake api.twilio.com): the settings, the alert text with its link to the thread, one alert per lead
// per 15 minutes (also with two workers at once), and never to a staff phone that texted STOP.
import t from 'tap';
import { createMessaging } from '../../src/automation/messaging/index.ts';
import { TASKS, type JobPayload } from '../../src/automation/process-manager.ts';
import { claimStaffAlert } from '../../src/automation/staff-alerts.ts';
import { runJob } from '../../src/automation/tasks.ts';
import { loadConfig } from '../../src/config.ts';
import { ACCOUNT_SID, AUTH_TOKEN, fakeTwilio } from '../automation/fake-twilio.ts';
import { automationApp } from '../automation/support.ts';
import { PROVIDER_ENV, inboundSms, postTwilio, sid, voiceStatusCallback } from '../webhooks/fixtures/providers.ts';

const ctx = await automationApp(t, { env: PROVIDER_ENV });
const { app, services } = ctx;
const API = '/api/internal/v1';
const BUSINESS = '+15125550100';
const TECH_1 = '+15125550901';
const TECH_2 = '+15125550902';
const CAMPAIGN = 'CM0123456789abcdef0123456789abcdef';
type Json = Record<string, any>;

const twilio = fakeTwilio();
const baseUrl = await twilio.listen();
t.teardown(() => twilio.close());
const messaging = createMessaging(
  loadConfig({
    DATABASE_URL: ctx.database.url,
    MESSAGING: 'twilio',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: baseUrl,
  }),
  { db: services.db, clock: ctx.clock },
);

let nextCaller = 5553300;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function setup(onCallPhones: string[] = [TECH_1, TECH_2]) {
  await ctx.reset();
  twilio.received.length = 0;
  const orgId = await ctx.createOrg({ name: 'Acme HVAC', phones: [BUSINESS] });
  const admin = await ctx.memberToken(orgId, 'admin');
  const res = await putSettings(admin.token, { onCallPhones, a2pCampaignId: CAMPAIGN });
  if (res.statusCode !== 200) throw new Error(res.body);
  return { orgId, admin, caller: `+1512${nextCaller++}` };
}
const putSettings = (token: string, payload: unknown) =>
  app.inject({ method: 'PUT', url: `${API}/settings`, headers: bearer(token), payload: payload as Json });
const missedCall = (from: string) =>
  postTwilio(app, '/webhooks/twilio/voice', voiceStatusCallback({ callSid: sid('CA'), from, to: BUSINESS, status: 'no-answer' }));
const text = (from: string, body: string) =>
  postTwilio(app, '/webhooks/twilio/sms', inboundSms({ messageSid: sid('SM'), from, to: BUSINESS, body }));
/** Queues what the new events call for and runs every due job through the fake Twilio. */
async function work() {
  await ctx.queue();
  await ctx.runDue({ messaging });
}
const alertsTo = (phone: string) => twilio.received.filter((r) => r.form.To === phone).map((r) => r.form.Body!);
async function leadIdOf(token: string, caller: string): Promise<string> {
  await ctx.project();
  const list = (await app.inject({ method: 'GET', url: `${API}/leads?status=all`, headers: bearer(token) })).json() as { data: Json[] };
  return list.data.find((l) => l.callerPhone === caller)!.id as string;
}
const staffAlerted = async (leadId: string) =>
  (await services.store.readStream(`lead-${leadId}`)).filter((e) => e.type === 'StaffAlerted').map((e) => e.data as Json);

t.test('settings: onCallPhones and autoAssign are validated, shown with defaults, and bad input changes nothing', async (t) => {
  await ctx.reset();
  const orgId = await ctx.createOrg({ phones: [BUSINESS] });
  const admin = await ctx.memberToken(orgId, 'admin');
  const before = (await app.inject({ method: 'GET', url: `${API}/settings`, headers: bearer(admin.token) })).json() as Json;
  t.same(before.settings.onCallPhones, [], 'no on-call phones by default');
  t.equal(before.settings.autoAssign, 'none', 'round-robin is off by default');
  const bad: [unknown, string, RegExp][] = [
    [{ onCallPhones: ['512-555-0901'] }, 'body.onCallPhones.0', /E\.164/],
    [{ onCallPhones: [TECH_1, TECH_1] }, 'body.onCallPhones', /twice/],
    [{ onCallPhones: TECH_1 }, 'body.onCallPhones', /array/],
    [{ autoAssign: 'sometimes' }, 'body.autoAssign', /none or round_robin/],
  ];
  for (const [payload, path, message] of bad) {
    const res = await putSettings(admin.token, payload);
    t.equal(res.statusCode, 400, JSON.stringify(payload));
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(res.json().errors, [{ path, message }], JSON.stringify(payload));
  }
  const member = await ctx.memberToken(orgId, 'member');
  t.equal((await putSettings(member.token, { onCallPhones: [TECH_1] })).statusCode, 403, 'a member does not change settings');
  t.equal((await app.inject({ method: 'PUT', url: `${API}/settings`, payload: { onCallPhones: [TECH_1] } })).statusCode, 401);
  t.equal((await services.store.readStream(`org-${orgId}`)).filter((e) => e.type === 'OrgSettingsChanged').length, 0, 'nothing recorded');
  const ok = await putSettings(admin.token, { onCallPhones: [TECH_1, TECH_2], autoAssign: 'round_robin' });
  t.equal(ok.statusCode, 200, ok.body);
  t.match(ok.json().settings, { onCallPhones: [TECH_1, TECH_2], autoAssign: 'round_robin' });
});

t.test('a missed call texts each on-call phone once, with a link straight to the thread, recorded as StaffAlerted', async (t) => {
  const { admin, caller } = await setup();
  t.equal((await missedCall(caller)).statusCode, 200);
  await work();
  const leadId = await leadIdOf(admin.token, caller);
  const pretty = caller.replace(/^\+1(\d{3})(\d{3})(\d{4})$/, '($1) $2-$3');
  for (const phone of [TECH_1, TECH_2]) {
    const texts = alertsTo(phone);
    t.equal(texts.length, 1, `one alert to ${phone}`);
    t.match(texts[0], `Missed call from ${pretty} — reply: https://hooks.callsnare.test/app/leads/${leadId}`);
  }
  t.equal(twilio.received.find((r) => r.form.To === TECH_1)?.form.From, BUSINESS, 'from the number the caller called');
  t.equal(alertsTo(caller).length, 1, 'the caller gets the text-back, not an alert');
  const recorded = await staffAlerted(leadId);
  t.same(recorded.map((e) => e.phone).sort(), [TECH_1, TECH_2]);
  t.match(recorded, [
    { trigger: 'missed_call', messageId: /^SM[0-9a-f]{32}$/ },
    { trigger: 'missed_call', messageId: /^SM[0-9a-f]{32}$/ },
  ]);
  await ctx.project();
  const lead = (await app.inject({ method: 'GET', url: `${API}/leads/${leadId}`, headers: bearer(admin.token) })).json() as Json;
  t.same(
    lead.timeline.filter((e: Json) => e.kind === 'staff_alert').map((e: Json) => e.summary),
    [`on-call phone ${TECH_1} alerted by text (missed call)`, `on-call phone ${TECH_2} alerted by text (missed call)`],
    'on the timeline',
  );
  await work();
  t.equal(alertsTo(TECH_1).length, 1, 'running the queue again sends nothing more');
});

t.test('one alert per lead per 15 minutes: a text 5 minutes later alerts nobody, one 16 minutes after the first does', async (t) => {
  const { admin, caller } = await setup();
  await missedCall(caller);
  await work();
  t.equal(alertsTo(TECH_1).length, 1);
  ctx.clock.advance(5 * 60_000);
  await text(caller, 'Hello? Our furnace stopped');
  await missedCall(caller);
  await work();
  t.equal(alertsTo(TECH_1).length, 1, 'nothing more within 15 minutes');
  t.equal(alertsTo(TECH_2).length, 1);
  ctx.clock.advance(11 * 60_000);
  await text(caller, 'Please call me back, it is getting cold in here');
  await work();
  const texts = alertsTo(TECH_1);
  t.equal(texts.length, 2, 'a new alert 16 minutes after the first');
  const leadId = await leadIdOf(admin.token, caller);
  t.match(
    texts[1],
    /^New text from \(\d{3}\) \d{3}-\d{4}: "Please call me back, it is getting cold in here" — reply: https:\/\/hooks\.callsnare\.test\/app\/leads\//,
  );
  t.match(texts[1], leadId);
  t.equal((await staffAlerted(leadId)).length, 4, 'two alerts to two phones');
  // Another caller's lead has its own 15 minutes.
  await missedCall(`+1512${nextCaller++}`);
  await work();
  t.equal(alertsTo(TECH_1).length, 3, "another lead's call alerts at once");
});

t.test('an on-call phone that texted STOP gets no alert; the others still do; texts from an on-call phone alert nobody', async (t) => {
  const { admin, caller } = await setup();
  t.equal((await text(TECH_1, 'STOP')).statusCode, 200);
  await work();
  t.same(alertsTo(TECH_2), [], "an on-call phone's own text alerts nobody");
  await missedCall(caller);
  await work();
  t.same(alertsTo(TECH_1), [], 'nothing is texted to the opted-out staff phone');
  t.equal(alertsTo(TECH_2).length, 1);
  const leadId = await leadIdOf(admin.token, caller);
  t.same(
    (await staffAlerted(leadId)).map((e) => e.phone),
    [TECH_2],
  );
});

t.test("the caller's own opt-out does not stop the team's alert (it is not a text to them)", async (t) => {
  const { admin, caller } = await setup();
  await text(caller, 'STOP');
  await work();
  const leadId = await leadIdOf(admin.token, caller);
  t.equal(alertsTo(TECH_1).length, 1, 'the team hears of the STOP text');
  t.equal(alertsTo(caller).length, 0, 'the caller gets nothing');
  t.equal((await staffAlerted(leadId)).length, 2);
});

t.test('two workers alerting about one lead at once: one alert per phone', async (t) => {
  const { admin, caller } = await setup();
  // Two calls in the same second: two alert jobs for one lead.
  await missedCall(caller);
  await missedCall(caller);
  await ctx.queue();
  const jobs = await ctx.jobs({ task: TASKS.staffAlert });
  t.equal(jobs.length, 2, 'one alert job per call');
  const run = { attempt: 1, maxAttempts: 5, defer: async () => {} };
  const deps = { ...ctx.deps, messaging };
  const results = await Promise.all(jobs.map((j) => runJob(deps, j.payload as unknown as JobPayload, run)));
  t.same(results.map((r) => r.outcome).sort(), ['noop', 'sent'], 'one job sends, the other finds the lead alerted');
  t.equal(alertsTo(TECH_1).length, 1);
  t.equal(alertsTo(TECH_2).length, 1);
  t.equal((await staffAlerted(await leadIdOf(admin.token, caller))).length, 2);

  // The claim itself, raced: of many concurrent claims on one lead exactly one wins.
  const leadId = '6d0f6b2e-8f3e-4d53-9a55-2b9a1c1f0a01';
  const orgId = jobs[0]!.payload.orgId as string;
  const at = ctx.clock().toISOString();
  const claims = await Promise.all(
    Array.from({ length: 8 }, (_, i) => claimStaffAlert(services.db, { orgId, leadId, triggerEventId: `trigger-${i}`, at })),
  );
  t.equal(claims.filter(Boolean).length, 1, 'one claim wins');
  const winner = `trigger-${claims.indexOf(true)}`;
  t.ok(await claimStaffAlert(services.db, { orgId, leadId, triggerEventId: winner, at }), 'the winner claims again on a retry');
  const later = new Date(Date.parse(at) + 15 * 60_000).toISOString();
  t.ok(await claimStaffAlert(services.db, { orgId, leadId, triggerEventId: 'later', at: later }), '15 minutes later a new alert wins');
});
