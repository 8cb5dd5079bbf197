import { randomUUID } from 'node:crypto';
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { createMessaging } from '../../src/automation/messaging/index.ts';
import { consentStreamOf } from '../../src/commands/consent.ts';
import { configureOrg } from '../../src/commands/orgs.ts';
import { operator } from '../support/app.ts';
import { bookingStream } from '../../src/domain/booking.ts';
import { AUTH_TOKEN, ACCOUNT_SID, fakeTwilio } from '../automation/fake-twilio.ts';
import { automationApp } from '../automation/support.ts';
import { PROVIDER_ENV, inboundSms, postTwilio, sid } from '../webhooks/fixtures/providers.ts';

/**
 * Consent (CONTRACT §8) through the real HTTP stack, a real database and the real job queue: inbound
 * STOP/START/HELP through signed Twilio webhooks, a member's recorded opt-out, the send-time check of
 * every job, a member's reply refused with 409, and Twilio's 21610 recorded as a carrier opt-out.
 */
const ctx = await automationApp(t, { env: PROVIDER_ENV });
const { app, services } = ctx;
const API = '/api/internal/v1';
const BUSINESS = '+15125550100';
type Json = Record<string, any>;
const window = { start: '2031-03-14T15:00:00.000Z', end: '2031-03-14T17:00:00.000Z' };
let nextCaller = 5553100;

async function setup() {
  await ctx.reset();
  const orgId = await ctx.createOrg({ name: 'Acme HVAC', phones: [BUSINESS] });
  const member = await ctx.memberToken(orgId, 'member');
  return { orgId, member, caller: `+1512${nextCaller++}` };
}

const text = (from: string, body: string, extra: Record<string, string> = {}) =>
  postTwilio(app, '/webhooks/twilio/sms', { ...inboundSms({ messageSid: sid('SM'), from, to: BUSINESS, body }), ...extra });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function consentEvents(orgId: string, phone: string) {
  return (await services.store.readStream(consentStreamOf(orgId, phone))).map((e) => ({ type: e.type, data: e.data as Json }));
}

async function leadOf(token: string) {
  await ctx.project();
  const list = (await app.inject({ method: 'GET', url: `${API}/leads`, headers: bearer(token) })).json() as { data: Json[] };
  return list.data[0]!;
}

t.test('a texted STOP opts the caller out: the next confirmation is skipped (opted_out), a reply is 409, the lead shows it', async (t) => {
  const { orgId, member, caller } = await setup();
  t.equal((await text(caller, '  stop ')).statusCode, 200);
  t.match(await consentEvents(orgId, caller), [
    { type: 'ContactOptedOut', data: { orgId, phone: caller, source: 'keyword', evidence: { body: '  stop ', by: caller } } },
  ]);

  const bookingId = await ctx.book(orgId, window, caller);
  await ctx.queue();
  await ctx.runDue();
  t.same(await ctx.outbound(), [], 'nothing is texted to an opted-out number');
  const booking = await services.store.readStream(bookingStream(bookingId));
  t.match(
    booking.map((e) => [e.type, e.data]),
    [['BookingCreated'], ['ConfirmationSkipped', { reason: 'opted_out' }]],
    'the skip and its reason are the booking evidence',
  );

  const row = await leadOf(member.token);
  t.match(row.consent, { status: 'opted_out', source: 'keyword' });
  t.ok(Date.parse(row.consent.since));
  const detail = (await app.inject({ method: 'GET', url: `${API}/leads/${row.id}`, headers: bearer(member.token) })).json() as Json;
  t.match(detail.consent, { status: 'opted_out', source: 'keyword' });

  const reply = await app.inject({
    method: 'POST',
    url: `${API}/leads/${row.id}/messages`,
    headers: bearer(member.token),
    payload: { body: 'Are you sure?', clientMessageId: randomUUID() },
  });
  t.equal(reply.statusCode, 409);
  t.match(reply.json(), { code: 'recipient_opted_out', status: 409 });
  t.equal((await services.store.readStream(`lead-${row.id}`)).filter((e) => e.type === 'OutboundTextRequested').length, 0);

  const owner = await ctx.memberToken(orgId, 'owner', 'owner@example.com');
  const audit = (
    await app.inject({ method: 'GET', url: `${API}/audit/events?stream=${consentStreamOf(orgId, caller)}`, headers: bearer(owner.token) })
  ).json() as { data: Json[] };
  t.match(audit.data, [{ type: 'ContactOptedOut', summary: `${caller} opted out (keyword: "  stop ")` }], 'on the audit timeline');
  const state = (
    await app.inject({
      method: 'GET',
      url: `${API}/audit/state?stream=${consentStreamOf(orgId, caller)}&asOf=${encodeURIComponent(ctx.clock().toISOString())}`,
      headers: bearer(owner.token),
    })
  ).json() as Json;
  t.match(state.state, { status: 'opted_out', source: 'keyword' }, 'audit state folds the consent stream');
});

t.test('START after STOP opts the caller in again, and texts flow; a repeated webhook records nothing twice', async (t) => {
  const { orgId, caller } = await setup();
  const stop = inboundSms({ messageSid: sid('SM'), from: caller, to: BUSINESS, body: 'STOP' });
  await postTwilio(app, '/webhooks/twilio/sms', stop);
  await postTwilio(app, '/webhooks/twilio/sms', stop);
  await text(caller, 'Unstop');
  t.same(
    (await consentEvents(orgId, caller)).map((e) => [e.type, e.data.source]),
    [
      ['ContactOptedOut', 'keyword'],
      ['ContactOptedIn', 'keyword'],
    ],
  );
  await ctx.book(orgId, window, caller);
  await ctx.queue();
  await ctx.runDue();
  t.match(await ctx.outbound(), [{ kind: 'confirmation', to: caller }]);
});

t.test('a look-alike is not an opt-out: it is flagged "possible opt-out" on the timeline for the team', async (t) => {
  const { orgId, member, caller } = await setup();
  await text(caller, 'Can you stop by Tuesday?');
  t.same(await consentEvents(orgId, caller), []);
  const row = await leadOf(member.token);
  t.match(row.consent, { status: 'unknown', since: null, source: null });
  const detail = (await app.inject({ method: 'GET', url: `${API}/leads/${row.id}`, headers: bearer(member.token) })).json() as Json;
  const entry = detail.timeline.find((e: Json) => e.type === 'InboundTextReceived');
  t.match(entry.summary, /possible opt-out/);
  t.match(entry.details, { flag: 'possible_opt_out' });
});

t.test("Twilio's OptOutType is honoured as sent (source provider), whatever the body says", async (t) => {
  const { orgId, caller } = await setup();
  await text(caller, 'arrêt', { OptOutType: 'STOP' });
  t.match(await consentEvents(orgId, caller), [{ type: 'ContactOptedOut', data: { source: 'provider', evidence: { body: 'arrêt' } } }]);
});

t.test('a plain-words revocation opts out with source phrase', async (t) => {
  const { orgId, caller } = await setup();
  await text(caller, "Please don't text me anymore");
  t.match(await consentEvents(orgId, caller), [{ type: 'ContactOptedOut', data: { source: 'phrase' } }]);
});

t.test('a member records an opt-out the caller asked for on the phone; never an opt-in', async (t) => {
  const { orgId, member, caller } = await setup();
  await text(caller, 'Hi, my AC is out');
  const row = await leadOf(member.token);
  const url = `${API}/leads/${row.id}/consent`;
  const refused = await app.inject({ method: 'POST', url, headers: bearer(member.token), payload: { status: 'opted_in' } });
  t.equal(refused.statusCode, 422);
  t.match(refused.json(), { code: 'opt_in_not_allowed' });
  t.equal((await app.inject({ method: 'POST', url, headers: bearer(member.token), payload: {} })).statusCode, 400);
  t.same(await consentEvents(orgId, caller), [], 'refusals change nothing');

  const res = await app.inject({
    method: 'POST',
    url,
    headers: bearer(member.token),
    payload: { status: 'opted_out', note: 'asked on the phone' },
  });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { leadId: row.id, phone: caller, consent: { status: 'opted_out', source: 'member' } });
  t.match(await consentEvents(orgId, caller), [
    { type: 'ContactOptedOut', data: { source: 'member', evidence: { by: member.memberId, body: 'asked on the phone' } } },
  ]);
  const again = await app.inject({ method: 'POST', url, headers: bearer(member.token), payload: { status: 'opted_out' } });
  t.equal(again.statusCode, 200);
  t.equal((await consentEvents(orgId, caller)).length, 1, 'recording it again changes nothing');
});

t.test('recording an opt-out: another org is 404, an auditor 403, no token 401', async (t) => {
  const { orgId, member, caller } = await setup();
  await text(caller, 'Hello');
  const row = await leadOf(member.token);
  const url = `${API}/leads/${row.id}/consent`;
  const otherOrg = await ctx.createOrg({ name: 'Other', phones: ['+15125550999'] });
  const stranger = await ctx.memberToken(otherOrg, 'owner', 'stranger@example.com');
  const auditor = await ctx.memberToken(orgId, 'auditor', 'auditor@example.com');
  const payload = { status: 'opted_out' };
  t.equal((await app.inject({ method: 'POST', url, headers: bearer(stranger.token), payload })).statusCode, 404);
  t.equal((await app.inject({ method: 'POST', url, headers: bearer(auditor.token), payload })).statusCode, 403);
  t.equal((await app.inject({ method: 'POST', url, payload })).statusCode, 401);
  t.same(await consentEvents(orgId, caller), []);
});

t.test('inbound texts with odd bodies are recorded and answered 200: empty, emoji only, 1,600 characters', async (t) => {
  const { orgId, member, caller } = await setup();
  for (const body of ['', '\u{1F44D}\u{1F3FD}', 'x'.repeat(1600), 'STOP'.repeat(400)]) t.equal((await text(caller, body)).statusCode, 200);
  const row = await leadOf(member.token);
  t.equal(row.counts.inboundTexts, 4, 'nothing lost');
  t.same(await consentEvents(orgId, caller), [], 'none of them is an opt-out');
});

t.test("Twilio's 21610 (recipient unsubscribed) records a carrier opt-out and ends the job, not retried", async (t) => {
  const twilio = fakeTwilio();
  const baseUrl = await twilio.listen();
  t.teardown(() => twilio.close());
  twilio.always({ status: 400, body: { code: 21610, message: 'Attempt to send to unsubscribed recipient', status: 400 } });
  const config = loadConfig({
    DATABASE_URL: ctx.database.url,
    MESSAGING: 'twilio',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: baseUrl,
  });
  const messaging = createMessaging(config, { db: services.db, clock: ctx.clock });
  const { orgId, caller } = await setup();
  await configureOrg(services, operator(orgId), { orgId, changes: { a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' } });
  const bookingId = await ctx.book(orgId, window, caller);
  await ctx.queue();
  await ctx.runDue({ messaging });
  t.equal(twilio.received.length, 1, 'one attempt');
  t.match(await consentEvents(orgId, caller), [{ type: 'ContactOptedOut', data: { source: 'carrier', evidence: { errorCode: '21610' } } }]);
  const booking = await services.store.readStream(bookingStream(bookingId));
  t.match(booking.at(-1), { type: 'ConfirmationSkipped', data: { reason: 'opted_out' } });
  t.same(await ctx.jobs({ task: 'booking-confirmation' }), [], 'not retried');
});

t.test('on Twilio, automated texts of an org without an A2P 10DLC campaign id end skipped (no_a2p_campaign)', async (t) => {
  const twilio = fakeTwilio();
  const baseUrl = await twilio.listen();
  t.teardown(() => twilio.close());
  const config = loadConfig({
    DATABASE_URL: ctx.database.url,
    MESSAGING: 'twilio',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: baseUrl,
  });
  const messaging = createMessaging(config, { db: services.db, clock: ctx.clock });
  const { orgId, caller } = await setup();
  const bookingId = await ctx.book(orgId, window, caller);
  await ctx.queue();
  await ctx.runDue({ messaging });
  t.equal(twilio.received.length, 0);
  const booking = await services.store.readStream(bookingStream(bookingId));
  t.match(booking.at(-1), { type: 'ConfirmationSkipped', data: { reason: 'no_a2p_campaign' } });
  const settings = await app.inject({
    method: 'PUT',
    url: `${API}/settings`,
    headers: bearer((await ctx.memberToken(orgId, 'admin', 'admin@example.com')).token),
    payload: { a2pCampaignId: 'not a campaign!' },
  });
  t.equal(settings.statusCode, 400, 'a malformed campaign id is refused');
});

t.test('HELP gets one answer naming the business and how to opt out; not when Twilio already answered it', async (t) => {
  const { orgId, caller } = await setup();
  const help = inboundSms({ messageSid: sid('SM'), from: caller, to: BUSINESS, body: 'help' });
  await postTwilio(app, '/webhooks/twilio/sms', help);
  await postTwilio(app, '/webhooks/twilio/sms', help);
  await text(caller, 'HELP', { OptOutType: 'HELP' });
  await ctx.queue();
  await ctx.runDue();
  const sent = await ctx.outbound();
  t.equal(sent.length, 1, 'one answer for a HELP delivered twice, none for the one Twilio answered');
  t.match(sent[0], { to: caller, from: BUSINESS, kind: 'reply' });
  t.match(sent[0]!.body, /^Acme HVAC: .*Reply STOP to opt out\.$/);
  t.same(await consentEvents(orgId, caller), [], 'HELP changes no consent');
});

t.test("settings show the opt-out line and the campaign id; the org's own line ends only its first text to a number", async (t) => {
  const { orgId, caller } = await setup();
  const admin = await ctx.memberToken(orgId, 'admin', 'admin@example.com');
  const before = (await app.inject({ method: 'GET', url: `${API}/settings`, headers: bearer(admin.token) })).json() as Json;
  t.match(before.settings, { optOutLine: 'Reply STOP to opt out.', a2pCampaignId: null });
  const put = await app.inject({
    method: 'PUT',
    url: `${API}/settings`,
    headers: bearer(admin.token),
    payload: { optOutLine: 'Text STOP to end texts from Acme.', a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' },
  });
  t.equal(put.statusCode, 200);
  t.match(put.json().settings, { optOutLine: 'Text STOP to end texts from Acme.', a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' });
  await ctx.book(orgId, window, caller);
  await ctx.book(orgId, { start: '2031-03-15T15:00:00.000Z', end: '2031-03-15T17:00:00.000Z' }, caller);
  await ctx.queue();
  await ctx.runDue();
  const bodies = (await ctx.outbound()).map((m) => m.body);
  t.equal(bodies.length, 2);
  t.equal(bodies.filter((b) => b.endsWith('\nText STOP to end texts from Acme.')).length, 1, 'only the first text carries the line');
});
